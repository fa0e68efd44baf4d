//! Numbers for the person's photos, unique across the cards and the training photos, so that an
//! answer names one photo whatever it is for.

use std::cell::Cell;

#[derive(Default)]
pub(super) struct PhotoIds {
    next: Cell<u32>,
}

impl PhotoIds {
    pub(super) fn next(&self) -> u32 {
        let id = self.next.get();
        self.next.set(id + 1);
        id
    }

    /// Stored photos came back with their ids: new ones start after them.
    pub(super) fn above(&self, id: u32) {
        self.next.set(self.next.get().max(id + 1));
    }
}
