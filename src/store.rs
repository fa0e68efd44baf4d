//! The person's work in the browser's IndexedDB: classes, training photos (a small JPEG, a
//! thumbnail and the cached embeddings), the trained personal models and a few settings.
//!
//! The embeddings are the chosen backbone's (the `backbone` setting, written in the same
//! transaction as they are when the backbone changes); each backbone keeps its own model.
//!
//! Every change is one transaction, so a reload or a crash in the middle of anything leaves either
//! the state before it or the state after it: a model is only written when training finished, and
//! an import replaces everything at once or nothing.

use indexed_db_futures::database::Database;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::formats::backbone::Backbone;
use crate::formats::project_file::SavedModel;
use crate::formats::records::TrainSettings;
use crate::protocol::KeptExample;

const DB_NAME: &str = "glimpse";
const DB_VERSION: u32 = 1;
const CLASSES: &str = "classes";
const PHOTOS: &str = "photos";
const MODEL: &str = "model";
const SETTINGS: &str = "settings";
const ALL: [&str; 4] = [CLASSES, PHOTOS, MODEL, SETTINGS];
const PERSONAL: &str = "personal";
const USE_PERSONAL: &str = "use-personal";
const TRAIN_SETTINGS: &str = "train-settings";
const BACKBONE: &str = "backbone";

/// The key of a backbone's model: Lite0's is where the only model was kept before there was a
/// choice.
fn model_key(backbone: Backbone) -> String {
    match backbone {
        Backbone::Lite0 => PERSONAL.to_string(),
        other => format!("{PERSONAL}-{}", other.id()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRecord {
    pub key: u32,
    pub name: String,
    /// Order on screen.
    pub position: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleRecord {
    pub id: u32,
    pub class_key: u32,
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub photo: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub thumbnail: Vec<u8>,
    /// Little-endian f32s (clean view, then the augmented views).
    #[serde(with = "serde_bytes")]
    pub embeddings: Vec<u8>,
    /// The content hash of the file it came from, as 32 hex digits, where known (imported
    /// photos); records from before imports have none.
    #[serde(default)]
    pub content_hash: Option<String>,
}

impl ExampleRecord {
    pub fn hash_to_hex(hash: u128) -> String {
        format!("{hash:032x}")
    }

    /// What the engine is given back of it.
    pub fn into_kept(self) -> KeptExample {
        let embeddings = self.embedding_values();
        KeptExample {
            photo: self.photo,
            thumbnail: self.thumbnail,
            embeddings,
        }
    }

    pub fn embeddings_to_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    pub fn embedding_values(&self) -> Vec<f32> {
        self.embeddings
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

/// What the page shows of a stored training photo: everything but the kept copy and the
/// embeddings, which stay in IndexedDB until an engine or an export needs them
/// (serde-wasm-bindgen reads only the fields named here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoListing {
    pub id: u32,
    pub class_key: u32,
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub thumbnail: Vec<u8>,
    #[serde(default)]
    pub content_hash: Option<String>,
}

impl PhotoListing {
    pub fn content_hash_value(&self) -> Option<u128> {
        u128::from_str_radix(self.content_hash.as_deref()?, 16).ok()
    }
}

impl ExampleRecord {
    pub fn listing(&self) -> PhotoListing {
        PhotoListing {
            id: self.id,
            class_key: self.class_key,
            name: self.name.clone(),
            thumbnail: self.thumbnail.clone(),
            content_hash: self.content_hash.clone(),
        }
    }
}

/// Everything stored, as the page shows it at start-up: the photos without their kept copies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// The backbone the photos' embeddings (and `model`) belong to.
    pub backbone: Backbone,
    pub classes: Vec<ClassRecord>,
    pub photos: Vec<PhotoListing>,
    pub model: Option<SavedModel>,
    pub use_personal: bool,
    pub settings: Option<TrainSettings>,
}

impl From<&Snapshot> for Listing {
    fn from(snapshot: &Snapshot) -> Self {
        Self {
            backbone: snapshot.backbone,
            classes: snapshot.classes.clone(),
            photos: snapshot.photos.iter().map(ExampleRecord::listing).collect(),
            model: snapshot.model.clone(),
            use_personal: snapshot.use_personal,
            settings: snapshot.settings.clone(),
        }
    }
}

/// Everything stored, as written by an import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub backbone: Backbone,
    pub classes: Vec<ClassRecord>,
    pub photos: Vec<ExampleRecord>,
    pub model: Option<SavedModel>,
    pub use_personal: bool,
    pub settings: Option<TrainSettings>,
}

/// Why something could not be kept, in words for the person.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

fn store_error(e: impl std::fmt::Display + std::fmt::Debug) -> StoreError {
    let text = format!("{e} {e:?}");
    if text.contains("Quota") {
        StoreError(
            "the browser's storage for this page is full: nothing was saved from this change; \
             remove photos or clear old work"
                .into(),
        )
    } else {
        StoreError(format!("the browser's storage failed: {e}"))
    }
}

/// Commits a transaction. When the browser aborts it, the error `commit` reports only says so;
/// the transaction's own error says why (a full storage is `QuotaExceededError`).
async fn commit(tx: Transaction<'_>) -> Result<(), StoreError> {
    let raw: web_sys::IdbTransaction = tx.as_sys().clone().into();
    tx.commit().await.map_err(|aborted| match raw.error() {
        Some(cause) => store_error(format!("{}: {}", cause.name(), cause.message())),
        None => store_error(aborted),
    })
}

pub struct Store {
    db: Database,
}

impl Store {
    pub async fn open() -> Result<Self, StoreError> {
        let db = Database::open(DB_NAME)
            .with_version(DB_VERSION)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    for name in ALL {
                        db.create_object_store(name).build()?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(store_error)?;
        Ok(Self { db })
    }

    fn write(&self, stores: &[&str]) -> Result<Transaction<'_>, StoreError> {
        self.db
            .transaction(stores)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(store_error)
    }

    /// What the page shows of everything stored; the photos' kept copies stay here.
    pub async fn list(&self) -> Result<Listing, StoreError> {
        let tx = self.db.transaction(ALL).build().map_err(store_error)?;
        let mut classes: Vec<ClassRecord> = all(&tx, CLASSES).await?;
        classes.sort_by_key(|c| (c.position, c.key));
        let mut photos = Vec::new();
        each(&tx, PHOTOS, |photo: PhotoListing| photos.push(photo)).await?;
        let backbone = get::<Backbone>(&tx, SETTINGS, BACKBONE)
            .await?
            .unwrap_or_default();
        let model = get::<SavedModel>(&tx, MODEL, &model_key(backbone)).await?;
        let use_personal = get::<bool>(&tx, SETTINGS, USE_PERSONAL)
            .await?
            .unwrap_or(false);
        let settings = get::<TrainSettings>(&tx, SETTINGS, TRAIN_SETTINGS).await?;
        Ok(Listing {
            backbone,
            classes,
            photos,
            model,
            use_personal,
            settings,
        })
    }

    /// Hands `take` every stored photo in full, one at a time, so that no more than one is held
    /// here at once.
    pub async fn each_photo(&self, take: impl FnMut(ExampleRecord)) -> Result<(), StoreError> {
        let tx = self.db.transaction(PHOTOS).build().map_err(store_error)?;
        each(&tx, PHOTOS, take).await
    }

    /// Whether anything worth keeping is stored: a photo or a model.
    pub async fn holds_work(&self) -> Result<bool, StoreError> {
        let tx = self
            .db
            .transaction([PHOTOS, MODEL])
            .build()
            .map_err(store_error)?;
        Ok(count(&tx, PHOTOS).await? > 0 || count(&tx, MODEL).await? > 0)
    }

    /// Writes the classes (names and order), replacing those stored.
    pub async fn put_classes(&self, classes: &[ClassRecord]) -> Result<(), StoreError> {
        let tx = self.write(&[CLASSES])?;
        let store = tx.object_store(CLASSES).map_err(store_error)?;
        store.clear().map_err(store_error)?;
        for class in classes {
            put(&store, class.key, class)?;
        }
        commit(tx).await
    }

    /// Removes a class and its photos together.
    pub async fn delete_class(&self, key: u32, photos: &[u32]) -> Result<(), StoreError> {
        let tx = self.write(&[CLASSES, PHOTOS])?;
        let classes = tx.object_store(CLASSES).map_err(store_error)?;
        classes.delete(key).build().map_err(store_error)?;
        let store = tx.object_store(PHOTOS).map_err(store_error)?;
        for id in photos {
            store.delete(*id).build().map_err(store_error)?;
        }
        commit(tx).await
    }

    pub async fn put_photo(&self, photo: &ExampleRecord) -> Result<(), StoreError> {
        let tx = self.write(&[PHOTOS])?;
        let store = tx.object_store(PHOTOS).map_err(store_error)?;
        put(&store, photo.id, photo)?;
        commit(tx).await
    }

    /// Moves a stored photo to another class (read and write in one transaction).
    pub async fn move_photo(&self, id: u32, class_key: u32) -> Result<(), StoreError> {
        let tx = self.write(&[PHOTOS])?;
        let store = tx.object_store(PHOTOS).map_err(store_error)?;
        let found: Option<ExampleRecord> = store
            .get(id)
            .serde()
            .map_err(store_error)?
            .await
            .map_err(store_error)?;
        if let Some(mut photo) = found {
            photo.class_key = class_key;
            put(&store, id, &photo)?;
        }
        commit(tx).await
    }

    pub async fn delete_photo(&self, id: u32) -> Result<(), StoreError> {
        let tx = self.write(&[PHOTOS])?;
        let store = tx.object_store(PHOTOS).map_err(store_error)?;
        store.delete(id).build().map_err(store_error)?;
        commit(tx).await
    }

    /// Keeps a finished model (as its backbone's) and makes it the chosen one.
    pub async fn put_model(&self, model: &SavedModel) -> Result<(), StoreError> {
        let tx = self.write(&[MODEL, SETTINGS])?;
        put(
            &tx.object_store(MODEL).map_err(store_error)?,
            model_key(model.backbone),
            model,
        )?;
        put(
            &tx.object_store(SETTINGS).map_err(store_error)?,
            USE_PERSONAL,
            &true,
        )?;
        commit(tx).await
    }

    pub async fn put_use_personal(&self, use_personal: bool) -> Result<(), StoreError> {
        self.put_setting(USE_PERSONAL, &use_personal).await
    }

    pub async fn put_train_settings(&self, settings: &TrainSettings) -> Result<(), StoreError> {
        self.put_setting(TRAIN_SETTINGS, settings).await
    }

    async fn put_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let tx = self.write(&[SETTINGS])?;
        put(&tx.object_store(SETTINGS).map_err(store_error)?, key, value)?;
        commit(tx).await
    }

    /// Replaces everything with `snapshot` in one transaction (an import).
    pub async fn replace_all(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let tx = self.write(&ALL)?;
        for name in ALL {
            tx.object_store(name)
                .map_err(store_error)?
                .clear()
                .map_err(store_error)?;
        }
        let classes = tx.object_store(CLASSES).map_err(store_error)?;
        for class in &snapshot.classes {
            put(&classes, class.key, class)?;
        }
        let photos = tx.object_store(PHOTOS).map_err(store_error)?;
        for photo in &snapshot.photos {
            put(&photos, photo.id, photo)?;
        }
        if let Some(model) = &snapshot.model {
            put(
                &tx.object_store(MODEL).map_err(store_error)?,
                model_key(model.backbone),
                model,
            )?;
        }
        let settings = tx.object_store(SETTINGS).map_err(store_error)?;
        put(&settings, BACKBONE, &snapshot.backbone)?;
        put(&settings, USE_PERSONAL, &snapshot.use_personal)?;
        if let Some(train) = &snapshot.settings {
            put(&settings, TRAIN_SETTINGS, train)?;
        }
        commit(tx).await
    }

    /// Makes `backbone` the photos' backbone, with their embeddings under it (`embeddings` by
    /// photo id), in one transaction: a photo without new embeddings keeps its old ones only if
    /// the caller left it out on purpose (it was removed meanwhile: it is gone here too).
    pub async fn rebase(
        &self,
        backbone: Backbone,
        embeddings: &std::collections::HashMap<u32, Vec<f32>>,
    ) -> Result<(), StoreError> {
        let tx = self.write(&[PHOTOS, SETTINGS])?;
        let photos = tx.object_store(PHOTOS).map_err(store_error)?;
        let mut failed = None;
        each(&tx, PHOTOS, |mut record: ExampleRecord| {
            if let Some(values) = embeddings.get(&record.id) {
                record.embeddings = ExampleRecord::embeddings_to_bytes(values);
                if let Err(e) = put(&photos, record.id, &record) {
                    failed.get_or_insert(e);
                }
            }
        })
        .await?;
        if let Some(e) = failed {
            return Err(e);
        }
        put(
            &tx.object_store(SETTINGS).map_err(store_error)?,
            BACKBONE,
            &backbone,
        )?;
        commit(tx).await
    }

    /// Deletes everything but the backbone choice (`backbone`, the one running).
    pub async fn clear_all(&self, backbone: Backbone) -> Result<(), StoreError> {
        self.replace_all(&Snapshot {
            backbone,
            ..Snapshot::default()
        })
        .await
    }
}

fn put<V: Serialize>(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    key: impl Into<JsValue>,
    value: &V,
) -> Result<(), StoreError> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .map_err(store_error)?;
    // Requests run in the transaction's order; its commit reports any that failed.
    store
        .put(value)
        .with_key(key.into())
        .without_key_type()
        .primitive()
        .map(drop)
        .map_err(store_error)
}

async fn all<T: DeserializeOwned>(tx: &Transaction<'_>, name: &str) -> Result<Vec<T>, StoreError> {
    tx.object_store(name)
        .map_err(store_error)?
        .get_all()
        .serde()
        .map_err(store_error)?
        .await
        .map_err(store_error)?
        .collect::<Result<Vec<T>, _>>()
        .map_err(store_error)
}

/// Reads the records of `name` one at a time through a cursor.
async fn each<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    name: &str,
    mut take: impl FnMut(T),
) -> Result<(), StoreError> {
    let store = tx.object_store(name).map_err(store_error)?;
    let Some(mut cursor) = store.open_cursor().await.map_err(store_error)? else {
        return Ok(());
    };
    while let Some(record) = cursor.next_record_ser::<T>().await.map_err(store_error)? {
        take(record);
    }
    Ok(())
}

async fn count(tx: &Transaction<'_>, name: &str) -> Result<u32, StoreError> {
    tx.object_store(name)
        .map_err(store_error)?
        .count()
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)
}

async fn get<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    tx.object_store(name)
        .map_err(store_error)?
        .get(key)
        .serde()
        .map_err(store_error)?
        .await
        .map_err(store_error)
}

/// What the browser says this page stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Everything: the person's work and the offline copy of the site.
    pub total: f64,
    pub quota: f64,
    /// IndexedDB alone, where the browser breaks it down (Chromium does).
    pub work: Option<f64>,
}

/// Bytes used and available to this page, as the browser estimates them.
pub async fn estimate() -> Option<Usage> {
    let storage = storage_manager()?;
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let number = |object: &JsValue, key: &str| {
        js_sys::Reflect::get(object, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
    };
    let details = js_sys::Reflect::get(&estimate, &JsValue::from_str("usageDetails")).ok();
    Some(Usage {
        total: number(&estimate, "usage")?,
        quota: number(&estimate, "quota")?,
        work: details.and_then(|d| number(&d, "indexedDB")),
    })
}

/// Asks the browser not to evict this page's storage under pressure; answers whether it agreed.
pub async fn persist() -> Option<bool> {
    let storage = storage_manager()?;
    JsFuture::from(storage.persist().ok()?)
        .await
        .ok()?
        .as_bool()
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let storage = js_sys::Reflect::get(&navigator, &JsValue::from_str("storage")).ok()?;
    (!storage.is_undefined()).then(|| storage.unchecked_into())
}
