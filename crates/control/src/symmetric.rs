//! A left/right symmetrised denoiser.
//!
//! The model is trained on every episode and its mirror image (`g1d dataset build --mirror`),
//! so a perfect model would be equivariant under the reflection y → −y: its prediction for a
//! mirrored sequence would be the mirror image of its prediction for the sequence itself. A
//! trained one is only approximately so, and its errors need not be symmetric — it can walk
//! to one side from standing more surely than to the other. [`Symmetrised`] asks the network
//! for both, in one batch of two (the sequence and its mirror image), and returns the mean of
//! the first prediction and the mirror image of the second: exactly equivariant, whatever the
//! network. It costs one batch-of-two call instead of one batch-of-one call per denoising
//! step.

use anyhow::{ensure, Result};
use g1::mirror::JointMirror;
use g1::{StateLayout, NUM_JOINTS};
use g1_diffusion::sampler::{Denoiser, Prediction, Sequence};
use g1_diffusion::{Stats, STEPS};

/// A signed permutation `out[index[i]] = sign[i] · v[i]` (an involution).
#[derive(Debug, Clone, PartialEq)]
struct SignedPermutation {
    index: Vec<usize>,
    sign: Vec<f64>,
}

impl SignedPermutation {
    /// The map of a linear mirror function, read off its images of the unit vectors.
    fn of(dim: usize, mirror: impl Fn(&[f64]) -> Vec<f64>) -> Result<Self> {
        let mut index = vec![0; dim];
        let mut sign = vec![0.0; dim];
        for i in 0..dim {
            let mut e = vec![0.0; dim];
            e[i] = 1.0;
            let m = mirror(&e);
            let nz: Vec<usize> = (0..dim).filter(|&k| m[k] != 0.0).collect();
            ensure!(
                nz.len() == 1 && m[nz[0]].abs() == 1.0,
                "the mirror map is not a signed permutation at dimension {i}"
            );
            index[i] = nz[0];
            sign[i] = m[nz[0]];
        }
        Ok(Self { index, sign })
    }
}

/// The mirror image of normalised rows (physical mirror between de- and re-normalisation).
#[derive(Debug, Clone)]
struct NormalisedMirror {
    map: SignedPermutation,
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl NormalisedMirror {
    fn apply(&self, rows: &[f32], out: &mut [f32]) {
        let d = self.mean.len();
        for (row, orow) in rows.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for i in 0..d {
                let x = row[i] as f64 * self.std[i] + self.mean[i];
                let j = self.map.index[i];
                orow[j] = ((self.map.sign[i] * x - self.mean[j]) / self.std[j]) as f32;
            }
        }
    }
}

/// A denoiser made exactly left/right equivariant by averaging it with its mirror image.
pub struct Symmetrised<N: Denoiser + ?Sized = dyn Denoiser + Send> {
    net: Box<N>,
    states: NormalisedMirror,
    actions: NormalisedMirror,
    /// false: every call goes to the network alone, as if unwrapped ([`Self::set_enabled`]).
    enabled: bool,
}

impl<N: Denoiser + ?Sized> Symmetrised<N> {
    /// `net` for a model of state layout `layout` with normalisation `stats`.
    pub fn new(net: Box<N>, layout: StateLayout, stats: &Stats) -> Result<Self> {
        let sd = layout.dim();
        ensure!(
            stats.state_mean.len() == sd && stats.action_mean.len() == NUM_JOINTS,
            "the statistics do not match a {layout} model"
        );
        let jm = JointMirror::new();
        let actions = SignedPermutation {
            index: jm.index.to_vec(),
            sign: jm.sign.to_vec(),
        };
        Ok(Self {
            net,
            enabled: true,
            states: NormalisedMirror {
                map: SignedPermutation::of(sd, |v| layout.mirror(v))?,
                mean: stats.state_mean.clone(),
                std: stats.state_std.clone(),
            },
            actions: NormalisedMirror {
                map: actions,
                mean: stats.action_mean.clone(),
                std: stats.action_std.clone(),
            },
        })
    }
}

impl<N: Denoiser + ?Sized> Symmetrised<N> {
    /// Symmetrise the calls that follow (true, the default) or pass them to the network
    /// unchanged (false), e.g. per task.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// The wrapped network's backend.
    pub fn inner_backend(&self) -> String {
        self.net.backend()
    }
}

impl<N: Denoiser + ?Sized> Denoiser for Symmetrised<N> {
    fn backend(&self) -> String {
        if self.enabled {
            format!("{} (symmetrised)", self.net.backend())
        } else {
            self.net.backend()
        }
    }

    fn denoise(&mut self, seq: &Sequence) -> Result<Prediction> {
        if !self.enabled {
            return self.net.denoise(seq);
        }
        seq.check()?;
        let (sd, ad, b) = (seq.state_dim, seq.action_dim, seq.batch);
        let (ns, na) = (b * STEPS * sd, b * STEPS * ad);
        // Batch [seq, mirror(seq)]: the noise levels are per token and mirror onto themselves.
        let mut two = Sequence::zeros(2 * b, sd, ad);
        two.states[..ns].copy_from_slice(&seq.states);
        self.states.apply(&seq.states, &mut two.states[ns..]);
        two.actions[..na].copy_from_slice(&seq.actions);
        self.actions.apply(&seq.actions, &mut two.actions[na..]);
        two.k_states[..b * STEPS].copy_from_slice(&seq.k_states);
        two.k_states[b * STEPS..].copy_from_slice(&seq.k_states);
        two.k_actions[..b * STEPS].copy_from_slice(&seq.k_actions);
        two.k_actions[b * STEPS..].copy_from_slice(&seq.k_actions);
        let p = self.net.denoise(&two)?;
        ensure!(
            p.states.len() == 2 * ns && p.actions.len() == 2 * na,
            "the denoiser returned {} state and {} action numbers for a batch of {}",
            p.states.len(),
            p.actions.len(),
            2 * b
        );
        let mut states = vec![0.0f32; ns];
        self.states.apply(&p.states[ns..], &mut states);
        let mut actions = vec![0.0f32; na];
        self.actions.apply(&p.actions[na..], &mut actions);
        for (m, x) in states.iter_mut().zip(&p.states[..ns]) {
            *m = 0.5 * (*m + x);
        }
        for (m, x) in actions.iter_mut().zip(&p.actions[..na]) {
            *m = 0.5 * (*m + x);
        }
        Ok(Prediction { states, actions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A deliberately lopsided network: it adds a fixed, asymmetric offset to its input.
    struct Lopsided;
    impl Denoiser for Lopsided {
        fn backend(&self) -> String {
            "lopsided".into()
        }
        fn denoise(&mut self, seq: &Sequence) -> Result<Prediction> {
            let f = |v: &[f32]| -> Vec<f32> {
                v.iter()
                    .enumerate()
                    .map(|(i, x)| 0.8 * x + 0.01 * (i % 7) as f32)
                    .collect()
            };
            Ok(Prediction {
                states: f(&seq.states),
                actions: f(&seq.actions),
            })
        }
    }

    /// A network that is its own mirror image (the identity).
    struct Identity;
    impl Denoiser for Identity {
        fn backend(&self) -> String {
            "identity".into()
        }
        fn denoise(&mut self, seq: &Sequence) -> Result<Prediction> {
            Ok(Prediction {
                states: seq.states.clone(),
                actions: seq.actions.clone(),
            })
        }
    }

    fn stats(layout: StateLayout, rng: &mut impl Rng) -> Stats {
        let sd = layout.dim();
        Stats {
            state_mean: (0..sd).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            state_std: (0..sd).map(|_| rng.gen_range(0.1..2.0)).collect(),
            action_mean: (0..NUM_JOINTS).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            action_std: (0..NUM_JOINTS).map(|_| rng.gen_range(0.1..2.0)).collect(),
        }
    }

    /// The normalised mirror of a whole sequence, computed through the layout's own mirror
    /// functions (not through the signed permutations under test).
    fn mirrored(seq: &Sequence, layout: StateLayout, st: &Stats) -> Sequence {
        let jm = JointMirror::new();
        let mut m = seq.clone();
        for i in 0..seq.batch * STEPS {
            let (sd, ad) = (seq.state_dim, seq.action_dim);
            let phys: Vec<f64> = (0..sd)
                .map(|d| seq.states[i * sd + d] as f64 * st.state_std[d] + st.state_mean[d])
                .collect();
            for (d, x) in layout.mirror(&phys).into_iter().enumerate() {
                m.states[i * sd + d] = ((x - st.state_mean[d]) / st.state_std[d]) as f32;
            }
            let a: [f64; NUM_JOINTS] = std::array::from_fn(|d| {
                seq.actions[i * ad + d] as f64 * st.action_std[d] + st.action_mean[d]
            });
            for (d, x) in jm.apply(&a).into_iter().enumerate() {
                m.actions[i * ad + d] = ((x - st.action_mean[d]) / st.action_std[d]) as f32;
            }
        }
        m
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_symmetrised_denoiser_is_equivariant_whatever_the_network() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for layout in [StateLayout::BodyPos, StateLayout::JointSpace] {
            let st = stats(layout, &mut rng);
            let seq = Sequence::random(1, layout.dim(), NUM_JOINTS, 20, &mut rng);
            let mseq = mirrored(&seq, layout, &st);
            // The lopsided network itself is not equivariant …
            let raw = Lopsided.denoise(&mseq).unwrap();
            let raw_m = mirrored(
                &Sequence {
                    states: Lopsided.denoise(&seq).unwrap().states,
                    actions: Lopsided.denoise(&seq).unwrap().actions,
                    ..seq.clone()
                },
                layout,
                &st,
            );
            assert!(max_diff(&raw.states, &raw_m.states) > 1e-3, "{layout}");
            // … its symmetrised version is: S(Mx) = M S(x).
            let mut s = Symmetrised::<Lopsided>::new(Box::new(Lopsided), layout, &st).unwrap();
            let a = s.denoise(&mseq).unwrap();
            let b = s.denoise(&seq).unwrap();
            let mb = mirrored(
                &Sequence {
                    states: b.states,
                    actions: b.actions,
                    ..seq.clone()
                },
                layout,
                &st,
            );
            assert!(max_diff(&a.states, &mb.states) < 1e-4, "{layout} states");
            assert!(max_diff(&a.actions, &mb.actions) < 1e-4, "{layout} actions");
            // An equivariant network is left as it is.
            let mut id = Symmetrised::<Identity>::new(Box::new(Identity), layout, &st).unwrap();
            let p = id.denoise(&seq).unwrap();
            assert!(max_diff(&p.states, &seq.states) < 1e-4, "{layout}");
            assert!(max_diff(&p.actions, &seq.actions) < 1e-4, "{layout}");
        }
    }

    #[test]
    fn statistics_of_another_layout_are_refused() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let st = stats(StateLayout::JointSpace, &mut rng);
        let err = Symmetrised::<Identity>::new(Box::new(Identity), StateLayout::BodyPos, &st)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("do not match"), "{err}");
    }
}
