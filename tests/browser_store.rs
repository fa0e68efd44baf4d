//! The person's work in IndexedDB, in headless Chromium (inside a Web Worker, where IndexedDB is
//! the same as on the page): what the page lists of the stored photos leaves their kept copies in
//! the store, every photo is read back in full one at a time, and the store says whether it holds
//! work without reading it; a change of backbone replaces the embeddings in one go and each
//! backbone keeps its own model.
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;

use glimpse::formats::backbone::Backbone;
use glimpse::formats::project_file::SavedModel;
use glimpse::formats::records::TrainingSummary;
use glimpse::store::{ClassRecord, ExampleRecord, Snapshot, Store};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn photo(id: u32, class_key: u32) -> ExampleRecord {
    ExampleRecord {
        id,
        class_key,
        name: format!("photo-{id}.jpg"),
        photo: vec![id as u8; 3000],
        thumbnail: vec![id as u8 + 1; 40],
        embeddings: ExampleRecord::embeddings_to_bytes(&[id as f32, 0.5, -1.0]),
        content_hash: id
            .is_multiple_of(2)
            .then(|| ExampleRecord::hash_to_hex(u128::from(id) << 64)),
    }
}

#[wasm_bindgen_test]
async fn stored_photos_are_listed_without_their_copies_and_read_back_one_at_a_time() {
    let store = Store::open().await.expect("the store opens");
    store.clear_all(Backbone::Lite0).await.expect("cleared");
    assert!(!store.holds_work().await.unwrap(), "nothing stored yet");
    let listing = store.list().await.unwrap();
    assert!(listing.photos.is_empty() && listing.classes.is_empty() && listing.model.is_none());

    let classes = vec![
        ClassRecord {
            key: 7,
            name: "cats".into(),
            position: 1,
        },
        ClassRecord {
            key: 3,
            name: "dogs".into(),
            position: 0,
        },
    ];
    let photos: Vec<ExampleRecord> = (1..=5)
        .map(|id| photo(id, [3, 7][id as usize % 2]))
        .collect();
    store
        .replace_all(&Snapshot {
            backbone: Backbone::Lite0,
            classes: classes.clone(),
            photos: photos.clone(),
            model: None,
            use_personal: false,
            settings: None,
        })
        .await
        .expect("written");
    assert!(store.holds_work().await.unwrap(), "photos are work");

    let listing = store.list().await.unwrap();
    assert_eq!(
        listing
            .classes
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["dogs", "cats"],
        "classes in screen order"
    );
    let listed: Vec<_> = photos.iter().map(ExampleRecord::listing).collect();
    assert_eq!(listing.photos, listed);
    assert_eq!(
        listing.photos[1].content_hash_value(),
        Some(2u128 << 64),
        "the content hash survives the round trip"
    );

    let mut read = Vec::new();
    store
        .each_photo(|record| read.push(record))
        .await
        .expect("read back");
    assert_eq!(read, photos, "every photo in full, copy and embeddings too");
    assert_eq!(read[2].clone().into_kept().embeddings, [3.0, 0.5, -1.0]);

    // A change after the listing is what the next read gives.
    store.move_photo(2, 7).await.unwrap();
    store.delete_class(3, &[1]).await.unwrap();
    let mut ids = Vec::new();
    store
        .each_photo(|record| ids.push((record.id, record.class_key)))
        .await
        .unwrap();
    assert_eq!(ids, [(2, 7), (3, 7), (4, 3), (5, 7)]);

    store.clear_all(Backbone::Lite0).await.unwrap();
    assert!(!store.holds_work().await.unwrap(), "cleared");
    let mut none = 0;
    store.each_photo(|_| none += 1).await.unwrap();
    assert_eq!(none, 0);
}

fn model(backbone: Backbone, class: &str) -> SavedModel {
    SavedModel {
        backbone,
        weights: vec![1, 2, 3],
        tuned_blocks: 0,
        summary: TrainingSummary::empty(&[class, "other"]),
    }
}

#[wasm_bindgen_test]
async fn a_new_backbone_gets_the_new_embeddings_at_once_and_each_backbone_its_own_model() {
    let store = Store::open().await.expect("the store opens");
    let photos: Vec<ExampleRecord> = (1..=3).map(|id| photo(id, 0)).collect();
    store
        .replace_all(&Snapshot {
            backbone: Backbone::Lite0,
            classes: vec![ClassRecord {
                key: 0,
                name: "cats".into(),
                position: 0,
            }],
            photos: photos.clone(),
            model: Some(model(Backbone::Lite0, "lite0 cats")),
            use_personal: true,
            settings: None,
        })
        .await
        .unwrap();
    // A Lite1 model kept while Lite0 runs is not Lite0's.
    store
        .put_model(&model(Backbone::Lite1, "lite1 cats"))
        .await
        .unwrap();
    let listing = store.list().await.unwrap();
    assert_eq!(listing.backbone, Backbone::Lite0);
    assert_eq!(listing.model.unwrap().classes()[0], "lite0 cats");

    // Photo 3 was removed while Lite1 embedded the others: it keeps nothing new.
    let embeddings: HashMap<u32, Vec<f32>> = [(1, vec![10.0, 11.0]), (2, vec![20.0, 21.0])].into();
    store.rebase(Backbone::Lite1, &embeddings).await.unwrap();
    let listing = store.list().await.unwrap();
    assert_eq!(listing.backbone, Backbone::Lite1);
    assert_eq!(listing.model.unwrap().classes()[0], "lite1 cats");
    let mut read = Vec::new();
    store
        .each_photo(|record| read.push((record.id, record.into_kept().embeddings)))
        .await
        .unwrap();
    assert_eq!(
        read,
        [
            (1, vec![10.0, 11.0]),
            (2, vec![20.0, 21.0]),
            (3, vec![3.0, 0.5, -1.0])
        ]
    );

    // Back on Lite0, its model is still there; clearing keeps the backbone that runs.
    store
        .rebase(Backbone::Lite0, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(
        store.list().await.unwrap().model.unwrap().classes()[0],
        "lite0 cats"
    );
    store.clear_all(Backbone::Lite2).await.unwrap();
    let listing = store.list().await.unwrap();
    assert_eq!(listing.backbone, Backbone::Lite2);
    assert!(listing.model.is_none() && listing.photos.is_empty());
}
