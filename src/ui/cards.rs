//! The photos dropped to be classified, as cards: each card's state, its saliency overlay and its
//! file (kept to explain another class later), newest first.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use leptos::prelude::*;

use super::photo_ids::PhotoIds;
use crate::formats::results_csv::{Outcome, ResultRow};
use crate::protocol::{Classification, Heatmap, PhotoError, SaliencyMethod};

#[derive(Debug, Clone, PartialEq)]
pub enum CardState {
    Queued,
    Working,
    Done(Classification),
    Failed(String),
}

/// Which class and method the card's overlay should explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayChoice {
    pub class_index: u32,
    pub method: SaliencyMethod,
}

/// A card's saliency overlay: what the person asked for, and the maps computed so far (kept so
/// that switching back to an earlier class or method is instant).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub choice: Option<OverlayChoice>,
    pub maps: Vec<Heatmap>,
    pub error: Option<String>,
}

impl Overlay {
    pub fn current(&self) -> Option<&Heatmap> {
        let choice = self.choice?;
        self.maps
            .iter()
            .find(|m| m.class_index == choice.class_index && m.method == choice.method)
    }

    pub fn computing(&self) -> bool {
        self.choice.is_some() && self.current().is_none() && self.error.is_none()
    }

    /// A map (or why there is none) for `class_index` under `method` has come.
    fn answered(
        &mut self,
        class_index: u32,
        method: SaliencyMethod,
        result: Result<Heatmap, PhotoError>,
    ) {
        let choice = OverlayChoice {
            class_index,
            method,
        };
        match result {
            Ok(map) => {
                // The first map of a photo is its top class's: show it.
                self.choice.get_or_insert(choice);
                self.maps
                    .retain(|m| !(m.class_index == class_index && m.method == method));
                self.maps.push(map);
            }
            Err(error) if self.choice == Some(choice) => self.error = Some(error.to_string()),
            Err(_) => {}
        }
    }
}

/// One dropped photo and what the model said about it.
#[derive(Debug, Clone)]
pub struct PhotoCard {
    pub id: u32,
    pub name: String,
    /// Object URL of the original file (the browser applies EXIF orientation when drawing it).
    pub thumbnail: String,
    pub state: RwSignal<CardState>,
    pub overlay: RwSignal<Overlay>,
}

pub struct Cards {
    pub cards: RwSignal<Vec<PhotoCard>>,
    states: RefCell<HashMap<u32, RwSignal<CardState>>>,
    overlays: RefCell<HashMap<u32, RwSignal<Overlay>>>,
    /// Files on screen, kept to explain another class later.
    files: RefCell<HashMap<u32, web_sys::File>>,
    /// The model that answered each photo, as the results table names it.
    answered_by: RefCell<HashMap<u32, String>>,
    /// Bumped by `clear`, so that slices of an earlier drop still being added stop.
    clears: Cell<u32>,
}

impl Default for Cards {
    fn default() -> Self {
        Self {
            cards: RwSignal::new(Vec::new()),
            states: RefCell::default(),
            overlays: RefCell::default(),
            files: RefCell::default(),
            answered_by: RefCell::default(),
            clears: Cell::new(0),
        }
    }
}

impl Cards {
    /// The file of a photo on screen.
    pub fn file(&self, id: u32) -> Option<web_sys::File> {
        self.files.borrow().get(&id).cloned()
    }

    /// Puts photos on screen as queued cards (newest first); answers their ids.
    pub(super) fn add(
        &self,
        files: Vec<web_sys::File>,
        ids: &PhotoIds,
    ) -> Vec<(u32, web_sys::File)> {
        let mut new_cards = Vec::with_capacity(files.len());
        let mut added = Vec::with_capacity(files.len());
        for file in files {
            let id = ids.next();
            let state = RwSignal::new(CardState::Queued);
            let overlay = RwSignal::new(Overlay::default());
            self.states.borrow_mut().insert(id, state);
            self.overlays.borrow_mut().insert(id, overlay);
            self.files.borrow_mut().insert(id, file.clone());
            let thumbnail = web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default();
            new_cards.push(PhotoCard {
                id,
                name: file.name(),
                thumbnail,
                state,
                overlay,
            });
            added.push((id, file));
        }
        self.cards.update(|cards| {
            new_cards.reverse();
            new_cards.append(cards);
            *cards = new_cards;
        });
        added
    }

    pub(super) fn set_state(&self, id: u32, state: CardState) {
        if let Some(signal) = self.states.borrow().get(&id) {
            signal.set(state);
        }
    }

    /// Photo `id` was answered by `model`.
    pub(super) fn answered_by(&self, id: u32, model: String) {
        self.answered_by.borrow_mut().insert(id, model);
    }

    /// The results table's rows, in the cards' order on screen.
    pub(super) fn results(&self) -> Vec<ResultRow> {
        let answered_by = self.answered_by.borrow();
        self.cards
            .get_untracked()
            .into_iter()
            .map(|card| ResultRow {
                outcome: match card.state.get_untracked() {
                    CardState::Done(classification) => Outcome::Answered {
                        model: answered_by.get(&card.id).cloned().unwrap_or_default(),
                        known: classification.familiarity.map(|f| f.known()),
                        ranking: classification
                            .predictions
                            .into_iter()
                            .map(|p| (p.label, p.confidence))
                            .collect(),
                    },
                    CardState::Failed(reason) => Outcome::Failed(reason),
                    CardState::Queued | CardState::Working => Outcome::Waiting,
                },
                file: card.name,
            })
            .collect()
    }

    fn update_overlay(&self, id: u32, change: impl FnOnce(&mut Overlay)) {
        if let Some(signal) = self.overlays.borrow().get(&id) {
            signal.update(change);
        }
    }

    pub(super) fn on_explained(
        &self,
        id: u32,
        class_index: u32,
        method: SaliencyMethod,
        result: Result<Heatmap, PhotoError>,
    ) {
        self.update_overlay(id, |overlay| overlay.answered(class_index, method, result));
    }

    /// Shows the saliency of `choice` on card `id`; answers the card's file when the map is
    /// still to be computed.
    pub(super) fn choose(&self, id: u32, choice: OverlayChoice) -> Option<web_sys::File> {
        let overlay = self.overlays.borrow().get(&id).copied()?;
        let known = overlay.with_untracked(|o| {
            o.maps
                .iter()
                .any(|m| m.class_index == choice.class_index && m.method == choice.method)
        });
        overlay.update(|o| {
            o.choice = Some(choice);
            o.error = None;
        });
        if known {
            return None;
        }
        self.files.borrow().get(&id).cloned()
    }

    /// The map of card `id` could not be asked for.
    pub(super) fn overlay_failed(&self, id: u32, message: String) {
        self.update_overlay(id, |o| o.error = Some(message));
    }

    /// The cards as they are now.
    pub(super) fn all(&self) -> Vec<PhotoCard> {
        self.cards.get_untracked()
    }

    /// How many times the cards were cleared: a drop still being added stops when it changes.
    pub(super) fn clears(&self) -> u32 {
        self.clears.get()
    }

    /// Removes every card and frees the thumbnails. Photos already handed to the engine will
    /// still be answered: their states are kept until then.
    pub(super) fn clear(&self) {
        self.clears.set(self.clears.get() + 1);
        for card in self.cards.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&card.thumbnail);
        }
        self.states
            .borrow_mut()
            .retain(|_, state| matches!(state.get_untracked(), CardState::Working));
        self.overlays.borrow_mut().clear();
        self.files.borrow_mut().clear();
        self.answered_by.borrow_mut().clear();
        self.cards.set(Vec::new());
    }
}
