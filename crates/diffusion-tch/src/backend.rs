//! The libtorch inference backend (CPU or CUDA).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use g1_diffusion::checkpoint::TensorF32;
use g1_diffusion::{Checkpoint, Denoiser, ModelConfig, Prediction, Sequence, STEPS};
use tch::{nn, Device, Kind, Tensor};

use crate::model::{import_vars, Net};

/// The libtorch device for `d`, failing clearly when CUDA is not usable.
pub fn device(d: g1_diffusion::ComputeDevice) -> Result<Device> {
    match d {
        g1_diffusion::ComputeDevice::Cpu => Ok(Device::Cpu),
        g1_diffusion::ComputeDevice::Cuda(idx) => {
            if !tch::Cuda::is_available() {
                bail!(
                    "CUDA requested but libtorch sees no CUDA device (this machine has no GPU, or the \
                     binary runs against libtorch's CPU libraries: set LD_LIBRARY_PATH to a CUDA \
                     torch/lib)"
                );
            }
            if idx >= tch::Cuda::device_count() as usize {
                bail!(
                    "cuda:{idx} requested, {} CUDA devices present",
                    tch::Cuda::device_count()
                );
            }
            Ok(Device::Cuda(idx))
        }
    }
}

pub struct TchDenoiser {
    _vs: nn::VarStore,
    net: Net,
    device: Device,
}

impl TchDenoiser {
    pub fn from_weights(
        config: &ModelConfig,
        w: &BTreeMap<String, TensorF32>,
        device: Device,
    ) -> Result<Self> {
        let mut vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root(), config)?;
        import_vars(&mut vs, w, config)?;
        vs.freeze();
        Ok(Self {
            _vs: vs,
            net,
            device,
        })
    }

    /// An exported model directory (manifest checked against this robot; weights.safetensors).
    pub fn from_model_dir(dir: &Path, device: Device) -> Result<(g1_diffusion::Manifest, Self)> {
        let (m, _) = g1_diffusion::Manifest::load(dir)?;
        let weights = m.weights_path(dir);
        g1_diffusion::manifest::verify_sha256(&weights, &m.weights_sha256, dir)?;
        let ck = Checkpoint::load(&weights)?;
        let net = Self::from_weights(&m.config, &ck.weights("model"), device)?;
        Ok((m, net))
    }

    /// The EMA weights of a training checkpoint.
    pub fn from_checkpoint(path: &Path, device: Device) -> Result<Self> {
        let ck = Checkpoint::load(path)?;
        Self::from_weights(&ck.meta.config, &ck.weights("ema"), device)
    }
}

impl Denoiser for TchDenoiser {
    fn backend(&self) -> String {
        match self.device {
            Device::Cpu => "libtorch-cpu".into(),
            _ => "libtorch-cuda".into(),
        }
    }

    fn denoise(&mut self, seq: &Sequence) -> Result<Prediction> {
        seq.check()?;
        let c = &self.net.config;
        if seq.state_dim != c.state_dim || seq.action_dim != c.action_dim {
            bail!(
                "sequence dims {}/{} differ from the model's {}/{}",
                seq.state_dim,
                seq.action_dim,
                c.state_dim,
                c.action_dim
            );
        }
        let b = seq.batch as i64;
        let st = STEPS as i64;
        let d = self.device;
        let s = Tensor::from_slice(&seq.states)
            .view([b, st, c.state_dim as i64])
            .to_device(d);
        let a = Tensor::from_slice(&seq.actions)
            .view([b, st, c.action_dim as i64])
            .to_device(d);
        let ks = Tensor::from_slice(&seq.k_states).view([b, st]).to_device(d);
        let ka = Tensor::from_slice(&seq.k_actions)
            .view([b, st])
            .to_device(d);
        let (ps, pa) = tch::no_grad(|| self.net.forward(&s, &a, &ks, &ka, false));
        let host = |t: Tensor| -> Vec<f32> {
            let t = t
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]);
            let n = t.size()[0] as usize;
            let mut v = vec![0.0f32; n];
            t.copy_data(&mut v, n);
            v
        };
        Ok(Prediction {
            states: host(ps),
            actions: host(pa),
        })
    }
}

/// Opens an exported model directory with any backend (ONNX Runtime or libtorch).
pub fn open_backend(
    model_dir: &Path,
    kind: g1_diffusion::BackendKind,
    threads: usize,
) -> Result<(g1_diffusion::Manifest, Box<dyn Denoiser + Send>)> {
    use g1_diffusion::BackendKind as K;
    if let Some(dev) = kind.ort_device() {
        let (m, net) = g1_diffusion::open_ort(model_dir, dev, threads)?;
        return Ok((m, Box::new(net)));
    }
    tch::set_num_threads(threads.max(1) as i32);
    let dev = device(if kind == K::TorchCuda {
        g1_diffusion::ComputeDevice::Cuda(0)
    } else {
        g1_diffusion::ComputeDevice::Cpu
    })?;
    let (m, net) = TchDenoiser::from_model_dir(model_dir, dev)?;
    Ok((m, Box::new(net)))
}
