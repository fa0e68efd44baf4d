//! The model an engine answers with, as the page last told it (or it trained): the personal model
//! if any, and whether it is the one in use. The page follows what it sends its engine, so that a
//! helper that classifies beside it (`ui::pool`) can be told the same before its next photo and
//! give the same answers. Each change has the next number, so a helper's news can be compared
//! with the engine's. Plain data, tested natively.

use crate::protocol::{Request, SavedModel};

#[derive(Debug, Clone, Default)]
pub struct ModelState {
    /// Counts the changes.
    pub change: u32,
    pub personal_model: Option<SavedModel>,
    pub use_personal: bool,
}

impl ModelState {
    /// Follows a request sent to the engine; answers whether it changed the model.
    pub fn follow(&mut self, request: &Request) -> bool {
        match request {
            Request::Reset => {
                self.personal_model = None;
                self.use_personal = false;
            }
            Request::LoadModel(model) => self.personal_model = Some(model.as_ref().clone()),
            Request::UseModel { personal } => self.use_personal = *personal,
            _ => return false,
        }
        self.change = self.change.wrapping_add(1);
        true
    }

    /// The engine trained `model`, and answers with it now.
    pub fn trained(&mut self, model: SavedModel) {
        self.follow(&Request::LoadModel(Box::new(model)));
        self.follow(&Request::UseModel { personal: true });
    }

    /// The requests that give another engine this state, whatever it held before.
    pub fn requests(&self) -> Vec<Request> {
        let mut requests = vec![Request::Reset];
        requests.extend(
            self.personal_model
                .clone()
                .map(|m| Request::LoadModel(Box::new(m))),
        );
        requests.push(Request::UseModel {
            personal: self.use_personal,
        });
        requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::records::TrainingSummary;

    fn model(class: &str) -> SavedModel {
        SavedModel {
            backbone: Default::default(),
            weights: vec![1, 2, 3],
            tuned_blocks: 0,
            summary: TrainingSummary::empty(&[class, "other"]),
        }
    }

    /// What `requests` says, in short: the model's first class, and the choice.
    fn told(state: &ModelState) -> Vec<String> {
        state
            .requests()
            .iter()
            .map(|request| match request {
                Request::Reset => "reset".to_string(),
                Request::LoadModel(m) => format!("load {}", m.summary.classes[0]),
                Request::UseModel { personal } => format!("use personal {personal}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_helper_told_the_followed_state_answers_with_the_engines_model() {
        let mut state = ModelState::default();
        assert_eq!(told(&state), ["reset", "use personal false"]);

        assert!(state.follow(&Request::LoadModel(Box::new(model("cats")))));
        assert!(state.follow(&Request::UseModel { personal: true }));
        assert_eq!(told(&state), ["reset", "load cats", "use personal true"]);
        let before = state.change;
        // Photos and training leave the model as it is.
        assert!(!state.follow(&Request::Classify {
            id: 1,
            bytes: Vec::new()
        }));
        assert!(!state.follow(&Request::RemoveExample { id: 1 }));
        assert_eq!(state.change, before, "no news");

        // Back to ImageNet, the personal model still loaded for a later switch.
        state.follow(&Request::UseModel { personal: false });
        assert_eq!(told(&state), ["reset", "load cats", "use personal false"]);
        assert!(state.change > before);

        // The engine trains a new one and answers with it.
        state.trained(model("dogs"));
        assert_eq!(told(&state), ["reset", "load dogs", "use personal true"]);

        // Cleared (an import, or everything removed): nothing personal is left.
        state.follow(&Request::Reset);
        state.follow(&Request::UseModel { personal: false });
        assert_eq!(told(&state), ["reset", "use personal false"]);
    }
}
