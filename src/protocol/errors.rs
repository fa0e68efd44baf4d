//! Why a request has no answer, typed until the page puts it into words (their `Display`): the
//! page can tell "not loaded yet" from "this file is damaged" without reading a sentence.

use serde::{Deserialize, Serialize};

use crate::formats::backbone::Backbone;
use crate::formats::photo::DecodeError;
use crate::formats::project_file::ProjectFileError;

/// Why a photo has no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum PhotoError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("the model could not run on this photo: {0}")]
    Inference(String),
    #[error("the model is not loaded yet")]
    NotReady,
    #[error("there is no class number {0}")]
    NoSuchClass(u32),
    #[error("the stored copy of this photo is damaged: {0}")]
    Stored(String),
}

/// Why training gave no model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum TeachError {
    #[error("add at least two classes")]
    TooFewClasses,
    /// The page asked to train on an example the engine has not embedded (or has forgotten).
    #[error("photo {0} is not ready yet")]
    NotReady(u32),
    #[error("\"{0}\" has no photos")]
    NoPhotos(String),
    /// Reading a result back from the device failed mid-run.
    #[error("{0}")]
    Device(String),
}

/// Why the engine could not do what a request asked (photos have `PhotoError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum EngineError {
    #[error("the model is not loaded yet")]
    NotLoaded,
    #[error("there is no personal model yet: train one first")]
    NoPersonalModel,
    /// A stored or imported personal model that does not fit the network.
    #[error("the model in the file is unusable: {0}")]
    UnusableModel(String),
    /// A personal model trained on another backbone than the one running: its head reads
    /// another network's embeddings.
    #[error(
        "the model was trained on {model}; switch the backbone to {model} to use it (running: {running})"
    )]
    WrongBackbone { model: Backbone, running: Backbone },
    #[error(transparent)]
    ProjectFile(#[from] ProjectFileError),
    /// A project file's photo (numbered from 1) that does not decode.
    #[error("photo {number} (\"{name}\") is unusable: {reason}")]
    UnusablePhoto {
        number: usize,
        name: String,
        reason: DecodeError,
    },
    #[error(transparent)]
    Teach(#[from] TeachError),
    /// Reading a result back from the device failed.
    #[error("{0}")]
    Device(String),
    /// A benchmark's input was not one model input.
    #[error("expected one {expected}-value input and a batch of at least 1")]
    BadInput { expected: usize },
    #[error("GPU work is not counted: start the page with ?bench on WebGPU")]
    NotCounting,
}
