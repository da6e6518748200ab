//! Cosine β-schedule (Nichol & Dhariwal 2021) and the DDPM forward/posterior formulas for an
//! x0-predicting denoiser. Level 0 is clean data, level K pure noise.

use serde::{Deserialize, Serialize};

/// Offset of the cosine schedule.
pub const COSINE_S: f64 = 0.008;
/// Upper bound on every β.
pub const MAX_BETA: f64 = 0.999;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// "cosine".
    pub kind: String,
    pub k_steps: usize,
    pub s: f64,
    /// β_k for k = 1 … K (index 0 holds 0 for level 0).
    pub betas: Vec<f64>,
    /// ᾱ_k = Π_{i ≤ k} (1 − β_i), with ᾱ_0 = 1.
    pub alpha_bars: Vec<f64>,
}

impl Schedule {
    pub fn cosine(k_steps: usize) -> Self {
        let f = |k: usize| {
            let x = (k as f64 / k_steps as f64 + COSINE_S) / (1.0 + COSINE_S);
            (x * std::f64::consts::FRAC_PI_2).cos().powi(2)
        };
        let mut betas = vec![0.0];
        let mut alpha_bars = vec![1.0];
        for k in 1..=k_steps {
            let b = (1.0 - f(k) / f(k - 1)).clamp(0.0, MAX_BETA);
            betas.push(b);
            alpha_bars.push(alpha_bars[k - 1] * (1.0 - b));
        }
        Self {
            kind: "cosine".into(),
            k_steps,
            s: COSINE_S,
            betas,
            alpha_bars,
        }
    }

    /// (√ᾱ_k, √(1 − ᾱ_k)): x_k = √ᾱ_k · x0 + √(1 − ᾱ_k) · ε.
    pub fn forward_coefs(&self, k: usize) -> (f64, f64) {
        let ab = self.alpha_bars[k];
        (ab.sqrt(), (1.0 - ab).sqrt())
    }

    /// Posterior q(x_to | x_from, x0) for to < from: (coefficient of x0, coefficient of
    /// x_from, standard deviation). `to = from − 1` is the usual DDPM step; larger jumps
    /// serve rolling inference where tokens sit at different levels.
    pub fn posterior(&self, from: usize, to: usize) -> (f64, f64, f64) {
        assert!(to < from && from <= self.k_steps, "posterior {from} → {to}");
        let ab_from = self.alpha_bars[from];
        let ab_to = self.alpha_bars[to];
        let alpha = ab_from / ab_to; // ᾱ_from / ᾱ_to
        let beta = 1.0 - alpha;
        let c0 = ab_to.sqrt() * beta / (1.0 - ab_from);
        let ck = alpha.sqrt() * (1.0 - ab_to) / (1.0 - ab_from);
        let var = beta * (1.0 - ab_to) / (1.0 - ab_from);
        (c0, ck, var.max(0.0).sqrt())
    }

    /// Whether `other` is this schedule (same kind and levels, betas within 1e-12).
    pub fn same_as(&self, other: &Schedule) -> bool {
        self.kind == other.kind
            && self.k_steps == other.k_steps
            && self.betas.len() == other.betas.len()
            && self
                .betas
                .iter()
                .zip(&other.betas)
                .all(|(a, b)| (a - b).abs() <= 1e-12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_is_monotone_and_ends_in_noise() {
        let s = Schedule::cosine(20);
        assert_eq!(s.betas.len(), 21);
        for k in 1..=20 {
            assert!(s.betas[k] > 0.0 && s.betas[k] <= MAX_BETA);
            assert!(s.alpha_bars[k] < s.alpha_bars[k - 1]);
        }
        assert!(s.alpha_bars[20] < 1e-3, "ᾱ_K = {}", s.alpha_bars[20]);
        assert!(s.alpha_bars[1] > 0.99, "ᾱ_1 = {}", s.alpha_bars[1]);
    }

    /// The posterior must be consistent with the forward process: if x_from is drawn from
    /// q(x_from | x0), then x_to drawn from the posterior has the marginal q(x_to | x0),
    /// i.e. mean √ᾱ_to·x0 and variance 1 − ᾱ_to.
    #[test]
    fn posterior_preserves_the_forward_marginals() {
        let s = Schedule::cosine(20);
        for (from, to) in [(1, 0), (5, 4), (20, 19), (14, 3), (20, 0)] {
            let (c0, ck, sd) = s.posterior(from, to);
            let (a_from, n_from) = s.forward_coefs(from);
            let (a_to, n_to) = s.forward_coefs(to);
            let mean = c0 + ck * a_from; // per unit x0
            let var = ck * ck * n_from * n_from + sd * sd;
            assert!(
                (mean - a_to).abs() < 1e-12,
                "{from}->{to}: mean {mean} vs {a_to}"
            );
            assert!((var - n_to * n_to).abs() < 1e-12, "{from}->{to}: var {var}");
        }
        // The last step returns x0 exactly.
        assert_eq!(s.posterior(1, 0), (1.0, 0.0, 0.0));
    }
}
