//! The last few decoded photos, so that explaining another class of a photo on screen skips
//! decoding it again. Bounded: a 224 x 224 x 3 input is 600 kB.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::ml::preprocess::Preprocessed;

const CAPACITY: usize = 16;

#[derive(Default)]
pub struct PhotoCache {
    recent: RefCell<VecDeque<(u32, Rc<Preprocessed>)>>,
}

impl PhotoCache {
    pub fn get(&self, id: u32) -> Option<Rc<Preprocessed>> {
        self.recent
            .borrow()
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, photo)| photo.clone())
    }

    pub fn put(&self, id: u32, photo: Rc<Preprocessed>) {
        let mut recent = self.recent.borrow_mut();
        recent.retain(|(key, _)| *key != id);
        if recent.len() == CAPACITY {
            recent.pop_front();
        }
        recent.push_back((id, photo));
    }
}
