//! Parameter names and shapes of the denoiser — one list shared by the libtorch model, the
//! checkpoints and the ONNX exporter. Linear weights are [out, in] (y = x·Wᵀ + b).

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_distr::Distribution;

use crate::checkpoint::TensorF32;
use crate::config::ModelConfig;

pub fn shapes(c: &ModelConfig) -> BTreeMap<String, Vec<usize>> {
    let (d, s, a, f) = (c.dim, c.state_dim, c.action_dim, c.ff_dim);
    let mut m = BTreeMap::new();
    let mut put = |n: &str, sh: Vec<usize>| {
        m.insert(n.to_string(), sh);
    };
    put("state_in.weight", vec![d, s]);
    put("state_in.bias", vec![d]);
    put("action_in.weight", vec![d, a]);
    put("action_in.bias", vec![d]);
    put("noise_state.weight", vec![c.k_steps + 1, d]);
    put("noise_action.weight", vec![c.k_steps + 1, d]);
    put("pos.weight", vec![c.tokens(), d]);
    for l in 0..c.layers {
        let b = format!("blocks.{l}");
        put(&format!("{b}.ln1.weight"), vec![d]);
        put(&format!("{b}.ln1.bias"), vec![d]);
        put(&format!("{b}.attn.qkv.weight"), vec![3 * d, d]);
        put(&format!("{b}.attn.qkv.bias"), vec![3 * d]);
        put(&format!("{b}.attn.out.weight"), vec![d, d]);
        put(&format!("{b}.attn.out.bias"), vec![d]);
        put(&format!("{b}.ln2.weight"), vec![d]);
        put(&format!("{b}.ln2.bias"), vec![d]);
        put(&format!("{b}.ff1.weight"), vec![f, d]);
        put(&format!("{b}.ff1.bias"), vec![f]);
        put(&format!("{b}.ff2.weight"), vec![d, f]);
        put(&format!("{b}.ff2.bias"), vec![d]);
    }
    put("ln_f.weight", vec![d]);
    put("ln_f.bias", vec![d]);
    put("state_out.weight", vec![s, d]);
    put("state_out.bias", vec![s]);
    put("action_out.weight", vec![a, d]);
    put("action_out.bias", vec![a]);
    m
}

/// Zero-mean normal samples with standard deviation `.0`.
struct Scaled(f32);

impl Distribution<f32> for Scaled {
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        let z: f32 = rng.sample(rand_distr::StandardNormal);
        self.0 * z
    }
}

/// Random weights (N(0, 0.02²) matrices, unit LayerNorm gains, small random biases) — for
/// benchmarks and export tests that need a model of a given size but no training.
pub fn random(c: &ModelConfig, seed: u64) -> BTreeMap<String, TensorF32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let w = Scaled(0.02);
    let bias = Scaled(0.01);
    shapes(c)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.contains("ln") && name.ends_with(".weight") {
                (0..n).map(|_| 1.0 + bias.sample(&mut rng)).collect()
            } else if name.ends_with(".bias") {
                (0..n).map(|_| bias.sample(&mut rng)).collect()
            } else {
                (0..n).map(|_| w.sample(&mut rng)).collect()
            };
            (name, TensorF32::new(shape, data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_shapes_and_paper_is_about_20m() {
        for name in ["tiny", "small", "paper"] {
            let c = ModelConfig::named(name).unwrap();
            let n: usize = shapes(&c)
                .values()
                .map(|s| s.iter().product::<usize>())
                .sum();
            assert_eq!(n, c.num_params(), "{name}");
        }
        let paper = ModelConfig::named("paper").unwrap().num_params() as f64;
        assert!(
            (18e6..22e6).contains(&paper),
            "paper has {paper} parameters"
        );
    }
}
