//! Where the person's training photos stand, counted as they change: for each class, and for the
//! photos of the latest folder import, how many are embedding, ready or failed. The Teach panel
//! shows these counts on every class, decides from them whether Train can start and follows an
//! import's embedding with them; with five thousand photos, counting them again on each of the
//! ten thousand changes an import makes (each photo added, then embedded) kept the page's thread
//! busy for most of the import and starved the workers of their core. Here each change costs the
//! same whatever the number of photos. Plain data, tested natively.

use std::collections::HashMap;

/// Where one training photo stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ExampleState {
    /// Added; the model cannot learn from it until the engine has embedded it.
    Embedding,
    Ready,
    /// The model cannot use it, and why (in words for the person).
    Failed(String),
}

/// How many photos of a group stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub embedding: usize,
    pub ready: usize,
    pub failed: usize,
}

impl Tally {
    /// The photos the model learns from, or will once embedded.
    pub fn usable(&self) -> usize {
        self.embedding + self.ready
    }

    fn count(&mut self, state: &ExampleState, more: bool) {
        let n = match state {
            ExampleState::Embedding => &mut self.embedding,
            ExampleState::Ready => &mut self.ready,
            ExampleState::Failed(_) => &mut self.failed,
        };
        *n = if more { *n + 1 } else { n.saturating_sub(1) };
    }
}

#[derive(Debug, Clone)]
struct Placed {
    class: u32,
    state: ExampleState,
    /// Added by the latest folder import.
    imported: bool,
}

/// Every training photo's class and state, and the counts kept from them.
#[derive(Debug, Clone, Default)]
pub struct PhotoTally {
    photos: HashMap<u32, Placed>,
    classes: HashMap<u32, Tally>,
    import: Tally,
}

impl PhotoTally {
    /// Photo `id` was added to `class`, embedding; `imported` when the import under way added it.
    pub fn add(&mut self, id: u32, class: u32, imported: bool) {
        self.remove(id);
        let state = ExampleState::Embedding;
        self.count(class, &state, imported, true);
        self.photos.insert(
            id,
            Placed {
                class,
                state,
                imported,
            },
        );
    }

    /// Photo `id` now stands at `state`; answers its class, or `None` for a photo not here.
    pub fn set(&mut self, id: u32, state: ExampleState) -> Option<u32> {
        let placed = self.photos.get(&id)?.clone();
        self.count(placed.class, &placed.state, placed.imported, false);
        self.count(placed.class, &state, placed.imported, true);
        self.photos.get_mut(&id)?.state = state;
        Some(placed.class)
    }

    /// Photo `id` was taken out; answers the class it was in.
    pub fn remove(&mut self, id: u32) -> Option<u32> {
        let placed = self.photos.remove(&id)?;
        self.count(placed.class, &placed.state, placed.imported, false);
        Some(placed.class)
    }

    /// Photo `id` went to class `to`; answers the class it left.
    pub fn move_to(&mut self, id: u32, to: u32) -> Option<u32> {
        let placed = self.photos.get(&id)?.clone();
        self.count(placed.class, &placed.state, false, false);
        self.count(to, &placed.state, false, true);
        self.photos.get_mut(&id)?.class = to;
        Some(placed.class)
    }

    /// Every photo is gone (a restore or an import of a project replaces them).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// A new folder import begins: the photos of the one before are no longer its.
    pub fn start_import(&mut self) {
        for placed in self.photos.values_mut() {
            placed.imported = false;
        }
        self.import = Tally::default();
    }

    pub fn class_of(&self, id: u32) -> Option<u32> {
        self.photos.get(&id).map(|p| p.class)
    }

    pub fn state(&self, id: u32) -> Option<&ExampleState> {
        self.photos.get(&id).map(|p| &p.state)
    }

    pub fn class(&self, class: u32) -> Tally {
        self.classes.get(&class).copied().unwrap_or_default()
    }

    /// The photos of the latest folder import.
    pub fn import(&self) -> Tally {
        self.import
    }

    /// The latest import's photos still embedding, lowest id first.
    pub fn import_embedding(&self) -> Vec<u32> {
        let mut photos: Vec<u32> = self
            .photos
            .iter()
            .filter(|(_, p)| p.imported && p.state == ExampleState::Embedding)
            .map(|(&id, _)| id)
            .collect();
        photos.sort_unstable();
        photos
    }

    fn count(&mut self, class: u32, state: &ExampleState, imported: bool, more: bool) {
        self.classes.entry(class).or_default().count(state, more);
        if imported {
            self.import.count(state, more);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(embedding: usize, ready: usize, failed: usize) -> Tally {
        Tally {
            embedding,
            ready,
            failed,
        }
    }

    fn failed() -> ExampleState {
        ExampleState::Failed("not a photo".into())
    }

    #[test]
    fn counts_follow_each_photo_from_added_to_embedded_or_failed() {
        let mut photos = PhotoTally::default();
        for id in 0..4 {
            photos.add(id, 7, false);
        }
        assert_eq!(photos.class(7), tally(4, 0, 0));
        assert_eq!(photos.set(0, ExampleState::Ready), Some(7));
        photos.set(1, ExampleState::Ready);
        photos.set(2, failed());
        assert_eq!(photos.class(7), tally(1, 2, 1));
        assert_eq!(photos.class(7).usable(), 3);
        // Embedding again after the engine was lost, then ready once more.
        photos.set(0, ExampleState::Embedding);
        assert_eq!(photos.class(7), tally(2, 1, 1));
        photos.set(0, ExampleState::Ready);
        assert_eq!(photos.remove(2), Some(7));
        assert_eq!(photos.class(7), tally(1, 2, 0));
        assert_eq!(photos.class(8), Tally::default());
    }

    #[test]
    fn unknown_photos_change_nothing() {
        let mut photos = PhotoTally::default();
        photos.add(1, 0, true);
        assert_eq!(photos.set(9, ExampleState::Ready), None);
        assert_eq!(photos.remove(9), None);
        assert_eq!(photos.move_to(9, 3), None);
        assert_eq!(photos.class(0), tally(1, 0, 0));
        assert_eq!(photos.import(), tally(1, 0, 0));
    }

    #[test]
    fn a_moved_photo_counts_in_its_new_class_only() {
        let mut photos = PhotoTally::default();
        photos.add(1, 0, false);
        photos.add(2, 0, false);
        photos.set(1, ExampleState::Ready);
        assert_eq!(photos.move_to(1, 5), Some(0));
        assert_eq!(photos.class_of(1), Some(5));
        assert_eq!(photos.class(0), tally(1, 0, 0));
        assert_eq!(photos.class(5), tally(0, 1, 0));
        photos.set(1, failed());
        assert_eq!(photos.class(5), tally(0, 0, 1));
        assert_eq!(photos.state(1), Some(&failed()));
    }

    #[test]
    fn the_import_counts_only_its_own_photos_until_the_next_one_begins() {
        let mut photos = PhotoTally::default();
        photos.add(1, 0, false);
        photos.start_import();
        photos.add(2, 0, true);
        photos.add(3, 1, true);
        photos.add(4, 1, true);
        photos.set(1, ExampleState::Ready);
        photos.set(3, ExampleState::Ready);
        assert_eq!(photos.import(), tally(2, 1, 0));
        assert_eq!(photos.import_embedding(), vec![2, 4]);
        photos.remove(4);
        assert_eq!(photos.import(), tally(1, 1, 0));
        photos.start_import();
        assert_eq!(photos.import(), Tally::default());
        assert!(photos.import_embedding().is_empty());
        // Its photos still count in their classes.
        assert_eq!(photos.class(0), tally(1, 1, 0));
        assert_eq!(photos.class(1), tally(0, 1, 0));
    }

    #[test]
    fn adding_a_photo_again_counts_it_once() {
        let mut photos = PhotoTally::default();
        photos.add(1, 0, false);
        photos.set(1, ExampleState::Ready);
        photos.add(1, 2, false);
        assert_eq!(photos.class(0), Tally::default());
        assert_eq!(photos.class(2), tally(1, 0, 0));
        photos.clear();
        assert_eq!(photos.class(2), Tally::default());
        assert_eq!(photos.class_of(1), None);
    }
}
