//! Where a forward pass spends its time, layer by layer: the profile behind the benchmark's
//! "what stands in the way" answers. Each layer's output is synchronised (one value read back)
//! before the clock stops, so a GPU's queued work is counted in the layer that queued it.

use burn::prelude::*;
use web_time::Instant;

pub use crate::formats::records::LayerTime;
use crate::ml::model::{ConvUnit, EfficientNetLite};
use crate::ml::readback::{ReadbackError, read_floats};

/// Waits until `x` is computed, by reading one of its values back.
async fn settle(x: &Tensor<4>) -> Result<(), ReadbackError> {
    read_floats(x.clone().slice([0..1, 0..1, 0..1, 0..1])).await?;
    Ok(())
}

fn describe(kind: &str, unit: &ConvUnit, input: &Tensor<4>) -> String {
    let [_, channels, height, width] = input.dims();
    let [kh, kw] = unit.conv.kernel_size;
    let stride = if unit.conv.stride[0] > 1 {
        format!(" /{}", unit.conv.stride[0])
    } else {
        String::new()
    };
    format!("{kind} {kh}x{kw}{stride} ({channels} ch, {height}x{width})")
}

struct Timer {
    names: Vec<String>,
    samples: Vec<Vec<f64>>,
    pass: usize,
    layer: usize,
}

impl Timer {
    async fn run(
        &mut self,
        name: String,
        x: Tensor<4>,
        layer: impl FnOnce(Tensor<4>) -> Tensor<4>,
    ) -> Result<Tensor<4>, ReadbackError> {
        if self.pass == 0 {
            self.names.push(name);
            self.samples.push(Vec::new());
        }
        let started = Instant::now();
        let y = layer(x);
        settle(&y).await?;
        self.samples[self.layer].push(started.elapsed().as_secs_f64() * 1000.0);
        self.layer += 1;
        Ok(y)
    }
}

/// Times every convolution (with its block's residual add, and the pooling and classifier) of `passes` forward
/// passes of `input`, after one untimed pass; answers each layer's median.
pub async fn layer_times(
    model: &EfficientNetLite,
    input: Tensor<4>,
    passes: usize,
) -> Result<Vec<LayerTime>, ReadbackError> {
    let mut timer = Timer {
        names: Vec::new(),
        samples: Vec::new(),
        pass: 0,
        layer: 0,
    };
    settle(&model.features(input.clone())).await?;
    for pass in 0..passes {
        timer.pass = pass;
        timer.layer = 0;
        let stem = &model.stem;
        let mut x = timer
            .run(describe("stem", stem, &input), input.clone(), |x| {
                stem.forward(x)
            })
            .await?;
        for (i, block) in model.blocks.iter().enumerate() {
            let skip = x.clone();
            let mut y = x;
            if let Some(expand) = &block.expand {
                let name = describe(&format!("block {i} expand"), expand, &y);
                y = timer.run(name, y, |y| expand.forward(y)).await?;
            }
            let name = describe(&format!("block {i} depthwise"), &block.depthwise, &y);
            y = timer.run(name, y, |y| block.depthwise.forward(y)).await?;
            // The residual add is timed with the projection: the GPU kernels do both in one pass.
            let kind = if block.residual {
                "project + residual"
            } else {
                "project"
            };
            let name = describe(&format!("block {i} {kind}"), &block.project, &y);
            let skip = block.residual.then_some(skip);
            x = timer
                .run(name, y, |y| block.project.forward_adding(y, skip))
                .await?;
        }
        let head = &model.head_conv;
        let features = timer
            .run(describe("head conv", head, &x), x, |x| head.forward(x))
            .await?;
        timer
            .run("pool + classifier".into(), features, |f| {
                let logits = model.head(EfficientNetLite::pool(f));
                let [batch, classes] = logits.dims();
                logits.reshape([batch, classes, 1, 1])
            })
            .await?;
    }
    Ok(timer
        .names
        .into_iter()
        .zip(timer.samples)
        .map(|(layer, mut times)| {
            times.sort_by(f64::total_cmp);
            LayerTime {
                layer,
                ms: times[times.len() / 2],
            }
        })
        .collect())
}
