//! Starts the compute device the page asked for inside the worker: WebGPU or the CPU (Flex).
//! Which one answers the person's photos is the page's decision, by measurement (the backend
//! race, `backend_race`); the worker only starts what it is told and says on which adapter.

use burn::prelude::Device;
use burn::tensor::wgpu::wgpu;

use crate::gpu_adapter::probe_adapter;
use crate::protocol::{BackendInfo, BackendKind};

const CPU_NAME: &str = "Flex (Rust on wasm, SIMD)";

/// The device the engine runs on, and the WebGPU device under it when there is one (to watch
/// for its loss, and for the tests to lose it on purpose).
pub struct Selected {
    pub device: Device,
    pub info: BackendInfo,
    pub gpu: Option<wgpu::Device>,
}

fn cpu() -> Selected {
    let info = BackendInfo {
        kind: BackendKind::Cpu,
        adapter: CPU_NAME.into(),
        software: false,
    };
    Selected {
        device: Device::flex(),
        info,
        gpu: None,
    }
}

async fn webgpu() -> Result<Selected, String> {
    let adapter = probe_adapter().await?;
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| format!("WebGPU could not start: {e:?}"))?;
    let info = BackendInfo {
        kind: BackendKind::WebGpu,
        adapter: adapter.description,
        software: adapter.software,
    };
    Ok(Selected {
        device,
        info,
        gpu: Some(setup.device),
    })
}

pub async fn select(kind: BackendKind) -> Result<Selected, String> {
    match kind {
        BackendKind::Cpu => Ok(cpu()),
        BackendKind::WebGpu => webgpu().await,
    }
}
