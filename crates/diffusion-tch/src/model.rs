//! The denoiser network in libtorch. Parameter names and shapes are `g1_diffusion::params`;
//! the operations are those the ONNX exporter writes, in the same order.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use g1_diffusion::checkpoint::{check_weights, TensorF32};
use g1_diffusion::tokens::mask_bias;
use g1_diffusion::ModelConfig;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

#[derive(Debug)]
struct Block {
    ln1: nn::LayerNorm,
    qkv: nn::Linear,
    out: nn::Linear,
    ln2: nn::LayerNorm,
    ff1: nn::Linear,
    ff2: nn::Linear,
}

/// The state–action transformer denoiser.
#[derive(Debug)]
pub struct Net {
    pub config: ModelConfig,
    state_in: nn::Linear,
    action_in: nn::Linear,
    noise_state: Tensor,
    noise_action: Tensor,
    pos: Tensor,
    blocks: Vec<Block>,
    ln_f: nn::LayerNorm,
    state_out: nn::Linear,
    action_out: nn::Linear,
    mask: Tensor,
}

fn ln(p: nn::Path, d: i64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![d],
        nn::LayerNormConfig {
            eps: g1_diffusion::onnx::LAYER_NORM_EPS as f64,
            ..Default::default()
        },
    )
}

fn linear(p: nn::Path, i: i64, o: i64) -> nn::Linear {
    // GPT-style init: N(0, 0.02²) weights, zero biases.
    nn::linear(
        p,
        i,
        o,
        nn::LinearConfig {
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

impl Net {
    /// Creates the parameters under `root` (randomly initialised).
    pub fn new(root: &nn::Path, config: &ModelConfig) -> Result<Self> {
        config.validate()?;
        let d = config.dim as i64;
        let (s, a) = (config.state_dim as i64, config.action_dim as i64);
        let emb = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let blocks = (0..config.layers)
            .map(|l| {
                let b = root / "blocks" / l;
                Block {
                    ln1: ln(&b / "ln1", d),
                    qkv: linear(&b / "attn" / "qkv", d, 3 * d),
                    out: linear(&b / "attn" / "out", d, d),
                    ln2: ln(&b / "ln2", d),
                    ff1: linear(&b / "ff1", d, config.ff_dim as i64),
                    ff2: linear(&b / "ff2", config.ff_dim as i64, d),
                }
            })
            .collect();
        let t = config.tokens();
        let mask = Tensor::from_slice(&mask_bias(t))
            .view([t as i64, t as i64])
            .to_device(root.device());
        Ok(Self {
            config: config.clone(),
            state_in: linear(root / "state_in", s, d),
            action_in: linear(root / "action_in", a, d),
            noise_state: (root / "noise_state").var("weight", &[config.k_steps as i64 + 1, d], emb),
            noise_action: (root / "noise_action").var(
                "weight",
                &[config.k_steps as i64 + 1, d],
                emb,
            ),
            pos: (root / "pos").var("weight", &[t as i64, d], emb),
            blocks,
            ln_f: ln(root / "ln_f", d),
            state_out: linear(root / "state_out", d, s),
            action_out: linear(root / "action_out", d, a),
            mask,
        })
    }

    // `x = x + o`, not `x += o`: in-place adds would overwrite tensors autograd saved.
    #[allow(clippy::assign_op_pattern)]
    /// x0 prediction. `states` [B, steps, S], `actions` [B, steps, A] (normalised, noisy),
    /// `k_states`, `k_actions` [B, steps] int64. Dropout only when `train`.
    pub fn forward(
        &self,
        states: &Tensor,
        actions: &Tensor,
        k_states: &Tensor,
        k_actions: &Tensor,
        train: bool,
    ) -> (Tensor, Tensor) {
        let c = &self.config;
        let (d, h) = (c.dim as i64, c.heads as i64);
        let dh = d / h;
        let steps = c.steps() as i64;
        let t = c.tokens() as i64;
        let b = states.size()[0];
        let hs = self.state_in.forward(states)
            + Tensor::embedding(&self.noise_state, k_states, -1, false, false);
        let ha = self.action_in.forward(actions)
            + Tensor::embedding(&self.noise_action, k_actions, -1, false, false);
        let mut x = Tensor::stack(&[hs, ha], 2).reshape([b, t, d]) + &self.pos;
        let scale = 1.0 / (dh as f64).sqrt();
        for blk in &self.blocks {
            let hn = x.apply(&blk.ln1);
            let qkv = hn.apply(&blk.qkv);
            let parts = qkv.split(d, 2);
            let q = parts[0].reshape([b, t, h, dh]).permute([0, 2, 1, 3]);
            let k = parts[1].reshape([b, t, h, dh]).permute([0, 2, 3, 1]);
            let v = parts[2].reshape([b, t, h, dh]).permute([0, 2, 1, 3]);
            let s = q.matmul(&k) * scale + &self.mask;
            let p = s.softmax(-1, Kind::Float).dropout(c.attn_dropout, train);
            let o = p.matmul(&v).permute([0, 2, 1, 3]).reshape([b, t, d]);
            let o = o.apply(&blk.out).dropout(c.dropout, train);
            x = x + o;
            let f = x
                .apply(&blk.ln2)
                .apply(&blk.ff1)
                .gelu("none")
                .apply(&blk.ff2)
                .dropout(c.dropout, train);
            x = x + f;
        }
        let x = x.apply(&self.ln_f).reshape([b, steps, 2, d]);
        let xs = x.select(2, 0).apply(&self.state_out);
        let xa = x.select(2, 1).apply(&self.action_out);
        (xs, xa)
    }
}

/// All named variables of a var store as host f32 tensors.
pub fn export_vars(vs: &nn::VarStore) -> BTreeMap<String, TensorF32> {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (name, to_host(&t)))
        .collect()
}

pub fn to_host(t: &Tensor) -> TensorF32 {
    let t = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let shape: Vec<usize> = t.size().iter().map(|&v| v as usize).collect();
    let n: usize = shape.iter().product();
    let mut data = vec![0.0f32; n];
    t.view([-1]).copy_data(&mut data, n);
    TensorF32 { shape, data }
}

/// Copies host tensors into the var store's variables (names and shapes must match).
pub fn import_vars(
    vs: &mut nn::VarStore,
    w: &BTreeMap<String, TensorF32>,
    config: &ModelConfig,
) -> Result<()> {
    check_weights(config, w)?;
    let device = vs.device();
    let vars = vs.variables();
    if vars.len() != w.len() {
        bail!("model has {} variables, weights {}", vars.len(), w.len());
    }
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vars {
            let src = &w[&name];
            let shape: Vec<i64> = src.shape.iter().map(|&v| v as i64).collect();
            let t = Tensor::from_slice(&src.data)
                .view(shape.as_slice())
                .to_device(device);
            var.copy_(&t);
        }
        Ok(())
    })
}
