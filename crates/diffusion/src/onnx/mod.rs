//! The denoiser as an ONNX graph, written from Rust (opset 17, IR 8).
//!
//! Inputs: `states` [batch, 21, S] f32, `actions` [batch, 21, A] f32 (normalised, noisy),
//! `k_states` / `k_actions` [batch, 21] int64 (noise level per token). Outputs: `states_x0`,
//! `actions_x0` (the predicted clean sequence). The operations mirror the libtorch model
//! one for one (`g1-diffusion-tch`), so the two agree to float rounding.

pub mod proto;

use std::collections::BTreeMap;

use anyhow::Result;
use prost::Message;

use crate::checkpoint::{check_weights, TensorF32};
use crate::config::ModelConfig;
use crate::tokens::mask_bias;
use proto::*;

pub const OPSET: i64 = 17;
pub const IR_VERSION: i64 = 8;
pub const LAYER_NORM_EPS: f32 = 1e-5;
pub const INPUTS: [&str; 4] = ["states", "actions", "k_states", "k_actions"];
pub const OUTPUTS: [&str; 2] = ["states_x0", "actions_x0"];

struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    counter: usize,
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attr_type::INT),
        i: Some(v),
        ..Default::default()
    }
}
fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attr_type::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}
fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attr_type::FLOAT),
        f: Some(v),
        ..Default::default()
    }
}

impl Graph {
    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }
    fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>, hint: &str) -> String {
        let out = self.fresh(hint);
        self.op_to(op, inputs, attrs, &out);
        out
    }
    fn op_to(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>, out: &str) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: Some(format!("{op}_{}", self.nodes.len())),
            op_type: Some(op.into()),
            domain: None,
            attribute: attrs,
        });
    }
    fn f32_init(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        self.inits.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(elem::FLOAT),
            name: Some(name.into()),
            raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        });
        name.to_string()
    }
    fn i64_init(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        self.inits.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(elem::INT64),
            name: Some(name.into()),
            raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        });
        name.to_string()
    }
    /// y = x·Wᵀ + b with W stored transposed as an initializer.
    fn linear(&mut self, x: &str, w: &BTreeMap<String, TensorF32>, name: &str) -> String {
        let wt = &w[&format!("{name}.weight")];
        let (o, i) = (wt.shape[0], wt.shape[1]);
        let mut t = vec![0.0f32; o * i];
        for r in 0..o {
            for c in 0..i {
                t[c * o + r] = wt.data[r * i + c];
            }
        }
        let wn = self.f32_init(&format!("{name}.weight_t"), &[i, o], &t);
        let b = &w[&format!("{name}.bias")];
        let bn = self.f32_init(&format!("{name}.bias"), &[o], &b.data);
        let m = self.op("MatMul", &[x, &wn], vec![], name);
        self.op("Add", &[&m, &bn], vec![], name)
    }
    fn layer_norm(&mut self, x: &str, w: &BTreeMap<String, TensorF32>, name: &str) -> String {
        let g = self.f32_init(
            &format!("{name}.weight"),
            &w[&format!("{name}.weight")].shape,
            &w[&format!("{name}.weight")].data,
        );
        let b = self.f32_init(
            &format!("{name}.bias"),
            &w[&format!("{name}.bias")].shape,
            &w[&format!("{name}.bias")].data,
        );
        self.op(
            "LayerNormalization",
            &[x, &g, &b],
            vec![attr_int("axis", -1), attr_float("epsilon", LAYER_NORM_EPS)],
            name,
        )
    }
}

fn value_info(name: &str, elem_type: i32, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(elem_type),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| match d {
                            Ok(v) => Dimension {
                                dim_value: Some(*v),
                                dim_param: None,
                            },
                            Err(p) => Dimension {
                                dim_value: None,
                                dim_param: Some(p.to_string()),
                            },
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// Builds the ONNX model bytes for `config` with weights `w` (checked against the config).
/// `metadata` goes into the model's `metadata_props`.
pub fn export(
    config: &ModelConfig,
    w: &BTreeMap<String, TensorF32>,
    metadata: &[(String, String)],
) -> Result<Vec<u8>> {
    config.validate()?;
    check_weights(config, w)?;
    let (d, h) = (config.dim, config.heads);
    let dh = d / h;
    let steps = config.steps();
    let tokens = config.tokens();
    let mut g = Graph {
        nodes: vec![],
        inits: vec![],
        counter: 0,
    };

    // Constants.
    let axis2 = g.i64_init("const.axis2", &[1], &[2]);
    let shape_tokens = g.i64_init("const.shape_tokens", &[3], &[0, tokens as i64, d as i64]);
    let shape_heads = g.i64_init(
        "const.shape_heads",
        &[4],
        &[0, tokens as i64, h as i64, dh as i64],
    );
    let shape_pairs = g.i64_init("const.shape_pairs", &[4], &[0, steps as i64, 2, d as i64]);
    let split_qkv = g.i64_init("const.split_qkv", &[3], &[d as i64, d as i64, d as i64]);
    let idx0 = g.i64_init("const.index0", &[], &[0]);
    let idx1 = g.i64_init("const.index1", &[], &[1]);
    let scale = g.f32_init("const.attn_scale", &[], &[1.0 / (dh as f32).sqrt()]);
    let mask = g.f32_init("const.attn_mask", &[tokens, tokens], &mask_bias(tokens));
    let inv_sqrt2 = g.f32_init("const.inv_sqrt2", &[], &[std::f32::consts::FRAC_1_SQRT_2]);
    let one = g.f32_init("const.one", &[], &[1.0]);
    let half = g.f32_init("const.half", &[], &[0.5]);

    // Token embeddings + per-token noise-level embeddings.
    let hs = g.linear("states", w, "state_in");
    let ns_tab = g.f32_init(
        "noise_state.weight",
        &w["noise_state.weight"].shape,
        &w["noise_state.weight"].data,
    );
    let ns = g.op(
        "Gather",
        &[&ns_tab, "k_states"],
        vec![attr_int("axis", 0)],
        "noise_state",
    );
    let hs = g.op("Add", &[&hs, &ns], vec![], "state_tok");
    let ha = g.linear("actions", w, "action_in");
    let na_tab = g.f32_init(
        "noise_action.weight",
        &w["noise_action.weight"].shape,
        &w["noise_action.weight"].data,
    );
    let na = g.op(
        "Gather",
        &[&na_tab, "k_actions"],
        vec![attr_int("axis", 0)],
        "noise_action",
    );
    let ha = g.op("Add", &[&ha, &na], vec![], "action_tok");
    // Interleave: [B, steps, 2, D] → [B, tokens, D] (token 2i state, 2i+1 action).
    let hs = g.op("Unsqueeze", &[&hs, &axis2], vec![], "state_u");
    let ha = g.op("Unsqueeze", &[&ha, &axis2], vec![], "action_u");
    let x = g.op("Concat", &[&hs, &ha], vec![attr_int("axis", 2)], "pairs");
    let x = g.op("Reshape", &[&x, &shape_tokens], vec![], "tokens");
    let pos = g.f32_init("pos.weight", &w["pos.weight"].shape, &w["pos.weight"].data);
    let mut x = g.op("Add", &[&x, &pos], vec![], "x");

    for l in 0..config.layers {
        let b = format!("blocks.{l}");
        // Attention.
        let hn = g.layer_norm(&x, w, &format!("{b}.ln1"));
        let qkv = g.linear(&hn, w, &format!("{b}.attn.qkv"));
        let (q, k, v) = (g.fresh("q"), g.fresh("k"), g.fresh("v"));
        g.nodes.push(NodeProto {
            input: vec![qkv.clone(), split_qkv.clone()],
            output: vec![q.clone(), k.clone(), v.clone()],
            name: Some(format!("Split_{}", g.nodes.len())),
            op_type: Some("Split".into()),
            domain: None,
            attribute: vec![attr_int("axis", 2)],
        });
        let q = g.op("Reshape", &[&q, &shape_heads], vec![], "q_h");
        let q = g.op(
            "Transpose",
            &[&q],
            vec![attr_ints("perm", &[0, 2, 1, 3])],
            "q_t",
        );
        let k = g.op("Reshape", &[&k, &shape_heads], vec![], "k_h");
        let k = g.op(
            "Transpose",
            &[&k],
            vec![attr_ints("perm", &[0, 2, 3, 1])],
            "k_t",
        );
        let v = g.op("Reshape", &[&v, &shape_heads], vec![], "v_h");
        let v = g.op(
            "Transpose",
            &[&v],
            vec![attr_ints("perm", &[0, 2, 1, 3])],
            "v_t",
        );
        let s = g.op("MatMul", &[&q, &k], vec![], "scores");
        let s = g.op("Mul", &[&s, &scale], vec![], "scores_scaled");
        let s = g.op("Add", &[&s, &mask], vec![], "scores_masked");
        let p = g.op("Softmax", &[&s], vec![attr_int("axis", -1)], "probs");
        let o = g.op("MatMul", &[&p, &v], vec![], "attn");
        let o = g.op(
            "Transpose",
            &[&o],
            vec![attr_ints("perm", &[0, 2, 1, 3])],
            "attn_t",
        );
        let o = g.op("Reshape", &[&o, &shape_tokens], vec![], "attn_m");
        let o = g.linear(&o, w, &format!("{b}.attn.out"));
        x = g.op("Add", &[&x, &o], vec![], "res1");
        // Feed-forward with exact (erf) GELU.
        let hn = g.layer_norm(&x, w, &format!("{b}.ln2"));
        let f = g.linear(&hn, w, &format!("{b}.ff1"));
        let e = g.op("Mul", &[&f, &inv_sqrt2], vec![], "gelu_in");
        let e = g.op("Erf", &[&e], vec![], "gelu_erf");
        let e = g.op("Add", &[&e, &one], vec![], "gelu_1p");
        let e = g.op("Mul", &[&f, &e], vec![], "gelu_x");
        let e = g.op("Mul", &[&e, &half], vec![], "gelu");
        let f = g.linear(&e, w, &format!("{b}.ff2"));
        x = g.op("Add", &[&x, &f], vec![], "res2");
    }
    let x = g.layer_norm(&x, w, "ln_f");
    let x = g.op("Reshape", &[&x, &shape_pairs], vec![], "pairs_out");
    let xs = g.op("Gather", &[&x, &idx0], vec![attr_int("axis", 2)], "state_h");
    let xa = g.op(
        "Gather",
        &[&x, &idx1],
        vec![attr_int("axis", 2)],
        "action_h",
    );
    let so = g.linear(&xs, w, "state_out");
    g.op_to("Identity", &[&so], vec![], OUTPUTS[0]);
    let ao = g.linear(&xa, w, "action_out");
    g.op_to("Identity", &[&ao], vec![], OUTPUTS[1]);

    let batch = Err("batch");
    let st = Ok(steps as i64);
    let graph = GraphProto {
        node: g.nodes,
        name: Some(format!("g1d_denoiser_{}", config.name)),
        initializer: g.inits,
        doc_string: Some("g1_diffusion state–action denoiser: noisy tokens + levels → x0".into()),
        input: vec![
            value_info(
                "states",
                elem::FLOAT,
                &[batch, st, Ok(config.state_dim as i64)],
            ),
            value_info(
                "actions",
                elem::FLOAT,
                &[batch, st, Ok(config.action_dim as i64)],
            ),
            value_info("k_states", elem::INT64, &[batch, st]),
            value_info("k_actions", elem::INT64, &[batch, st]),
        ],
        output: vec![
            value_info(
                OUTPUTS[0],
                elem::FLOAT,
                &[batch, st, Ok(config.state_dim as i64)],
            ),
            value_info(
                OUTPUTS[1],
                elem::FLOAT,
                &[batch, st, Ok(config.action_dim as i64)],
            ),
        ],
    };
    let model = ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("g1d".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: Some("org.g1_diffusion".into()),
        model_version: Some(1),
        doc_string: Some(format!(
            "g1_diffusion denoiser, configuration {}",
            config.name
        )),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
    };
    Ok(model.encode_to_vec())
}
