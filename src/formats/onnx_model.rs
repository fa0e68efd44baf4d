//! A personal model as one ONNX file, for ONNX Runtime and any other ONNX tool
//! (`docs/export-format.md`): the whole network (the shipped backbone, the fine-tuned blocks if
//! any, the person's head) from the same tensors as the whole-network export, batch norm folded.
//!
//! Input `input`: float32 [N, 3, S, S] (S the backbone's input size: 224, 240 or 260), normalised as the page does (`preprocessing` in the
//! metadata). Output `probabilities`: float32 [N, K] after softmax. The class names, in order,
//! are JSON under `classes` in the model's `metadata_props`, the backbone's id (`lite0`, `lite1`,
//! `lite2`) under `backbone`.

use std::collections::HashMap;

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto;
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use super::backbone::Backbone;
use super::project_file::Preprocessing;
use super::shape::block_shapes;
use super::tensor_file::NamedTensor;

pub const INPUT: &str = "input";
pub const OUTPUT: &str = "probabilities";
/// Opset 17 with IR version 8: read by ONNX Runtime 1.14 and later, and by current tools.
const OPSET: i64 = 17;
const IR_VERSION: i64 = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnnxError {
    #[error("the model has no tensor {0}")]
    MissingTensor(String),
}

fn attribute(
    name: &str,
    kind: AttributeType,
    fill: impl FnOnce(&mut AttributeProto),
) -> AttributeProto {
    let mut attribute = AttributeProto {
        name: name.into(),
        type_: kind.into(),
        ..Default::default()
    };
    fill(&mut attribute);
    attribute
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    attribute(name, AttributeType::INTS, |a| {
        a.ints = values.iter().map(|&v| v as i64).collect()
    })
}

fn int(name: &str, value: i64) -> AttributeProto {
    attribute(name, AttributeType::INT, |a| a.i = value)
}

fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attributes,
        ..Default::default()
    }
}

fn float_tensor(name: &str, shape: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: DataType::FLOAT as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float tensor's type with a symbolic batch size first.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(dimension::Value::DimParam("N".into())),
        ..Default::default()
    };
    let rest = dims.iter().map(|&d| Dimension {
        value: Some(dimension::Value::DimValue(d as i64)),
        ..Default::default()
    });
    let tensor = type_proto::Tensor {
        elem_type: DataType::FLOAT as i32,
        shape: Some(TensorShapeProto {
            dim: std::iter::once(batch).chain(rest).collect(),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tensor)),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

/// TensorFlow "SAME" padding as ONNX pads `[top, left, bottom, right]` (the extra at the end,
/// as the model was trained), and the output side.
fn same_pads(size: usize, kernel: usize, stride: usize) -> ([usize; 4], usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    let begin = total / 2;
    ([begin, begin, total - begin, total - begin], out)
}

struct Graph<'a> {
    tensors: HashMap<&'a str, &'a NamedTensor>,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl<'a> Graph<'a> {
    fn weight(&mut self, name: &str) -> Result<String, OnnxError> {
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| OnnxError::MissingTensor(name.into()))?;
        self.initializers
            .push(float_tensor(name, &tensor.shape, &tensor.values));
        Ok(name.to_string())
    }

    /// A convolution with its bias, and ReLU6 (a clip to [0, 6]) where the network has one.
    fn conv(
        &mut self,
        x: &str,
        prefix: &str,
        (kernel, stride, group): (usize, usize, usize),
        size: usize,
        relu6: bool,
    ) -> Result<(String, usize), OnnxError> {
        let (pads, out) = same_pads(size, kernel, stride);
        let weight = self.weight(&format!("{prefix}.weight"))?;
        let bias = self.weight(&format!("{prefix}.bias"))?;
        let y = format!("{prefix}.out");
        self.nodes.push(node(
            "Conv",
            &[x, &weight, &bias],
            &y,
            vec![
                ints("kernel_shape", &[kernel, kernel]),
                ints("strides", &[stride, stride]),
                ints("pads", &pads),
                ints("dilations", &[1, 1]),
                int("group", group as i64),
            ],
        ));
        if !relu6 {
            return Ok((y, out));
        }
        let clipped = format!("{y}.relu6");
        self.nodes.push(node(
            "Clip",
            &[&y, "relu6.min", "relu6.max"],
            &clipped,
            vec![],
        ));
        Ok((clipped, out))
    }

    fn build(&mut self, backbone: Backbone) -> Result<usize, OnnxError> {
        self.initializers
            .push(float_tensor("relu6.min", &[], &[0.0]));
        self.initializers
            .push(float_tensor("relu6.max", &[], &[6.0]));
        let input_size = backbone.input_size();
        let (mut x, mut size) = self.conv(INPUT, "stem", (3, 2, 1), input_size, true)?;
        for (index, block) in block_shapes(backbone).into_iter().enumerate() {
            let prefix = format!("blocks.{index}");
            let hidden = block.channels_in * block.expand_ratio;
            let mut t = x.clone();
            if block.expand_ratio != 1 {
                t = self
                    .conv(&t, &format!("{prefix}.expand"), (1, 1, 1), size, true)?
                    .0;
            }
            let depthwise = (block.kernel, block.stride, hidden);
            let (t, next) = self.conv(&t, &format!("{prefix}.depthwise"), depthwise, size, true)?;
            let (mut t, _) = self.conv(&t, &format!("{prefix}.project"), (1, 1, 1), next, false)?;
            if block.residual() {
                let sum = format!("{prefix}.residual");
                self.nodes.push(node("Add", &[&t, &x], &sum, vec![]));
                t = sum;
            }
            (x, size) = (t, next);
        }
        let (x, _) = self.conv(&x, "head_conv", (1, 1, 1), size, true)?;
        let weight = self.weight("classifier.weight")?;
        let bias = self.weight("classifier.bias")?;
        let classes = self.tensors["classifier.bias"].values.len();
        self.nodes.extend([
            node("GlobalAveragePool", &[&x], "pooled", vec![]),
            node("Flatten", &["pooled"], "embedding", vec![int("axis", 1)]),
            // classifier.weight is [1280, classes] (input-major): Gemm's B as it is.
            node("Gemm", &["embedding", &weight, &bias], "logits", vec![]),
            node("Softmax", &["logits"], OUTPUT, vec![int("axis", 1)]),
        ]);
        Ok(classes)
    }
}

fn entry(key: &str, value: String) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.into(),
        value,
        ..Default::default()
    }
}

/// The ONNX file of a `backbone` network given as the whole-network export's tensors, with its
/// classes.
pub fn write(
    backbone: Backbone,
    tensors: &[NamedTensor],
    classes: &[String],
    created: &str,
) -> Result<Vec<u8>, OnnxError> {
    let mut graph = Graph {
        tensors: tensors.iter().map(|t| (t.name.as_str(), t)).collect(),
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    let outputs = graph.build(backbone)?;
    let input_size = backbone.input_size();
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "Glimpse".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "A personal image classifier trained in Glimpse: {backbone} with the person's own \
             classes. Input: the photo as Glimpse preprocesses it; output: class probabilities."
        ),
        graph: Some(GraphProto {
            name: "glimpse_personal_model".into(),
            node: graph.nodes,
            initializer: graph.initializers,
            input: vec![value_info(INPUT, &[3, input_size, input_size])],
            output: vec![value_info(OUTPUT, &[outputs])],
            ..Default::default()
        })
        .into(),
        metadata_props: vec![
            entry(
                "classes",
                serde_json::to_string(classes).expect("names serialise"),
            ),
            entry(
                "preprocessing",
                serde_json::to_string(&Preprocessing::of(backbone)).expect("it serialises"),
            ),
            entry("backbone", backbone.id().into()),
            entry("created", created.into()),
        ],
        ..Default::default()
    };
    Ok(model
        .write_to_bytes()
        .expect("writing a protobuf message to memory cannot fail"))
}
