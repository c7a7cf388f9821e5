//! AdamW whose moments are saved with the checkpoint (candle's own keeps them private, so
//! a resumed run would restart its moment estimates), with global gradient-norm clipping
//! and the warm-up + cosine learning-rate schedule.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::VarMap;

pub struct AdamW {
    vars: Vec<(String, Var)>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    pub step: usize,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub clip_norm: f64,
}

impl AdamW {
    pub fn new(varmap: &VarMap, weight_decay: f64) -> Result<Self> {
        let mut vars: Vec<(String, Var)> = varmap
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        Ok(Self {
            first: vars
                .iter()
                .map(|(_, v)| zeros(v))
                .collect::<Result<_, _>>()?,
            second: vars
                .iter()
                .map(|(_, v)| zeros(v))
                .collect::<Result<_, _>>()?,
            vars,
            step: 0,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay,
            clip_norm: 1.0,
        })
    }

    /// One update; returns the gradient norm before clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<f64> {
        let mut sq = 0.0f64;
        for (_, v) in &self.vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = sq.sqrt();
        let scale = if norm > self.clip_norm {
            self.clip_norm / norm
        } else {
            1.0
        };
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let g = (g * scale)?;
            let m = ((&self.first[i] * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            let v = ((&self.second[i] * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + self.eps)?)?;
            // Decay only matrices and kernels, not biases or norm gains.
            let decay = if var.rank() >= 2 {
                self.weight_decay
            } else {
                0.0
            };
            let w = (var.as_tensor() * (1.0 - lr * decay))?;
            var.set(&(w - (update * lr)?)?)?;
            self.first[i] = m;
            self.second[i] = v;
        }
        Ok(norm)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            tensors.insert(format!("m.{name}"), self.first[i].clone());
            tensors.insert(format!("v.{name}"), self.second[i].clone());
        }
        tensors.insert(
            "step".into(),
            Tensor::new(&[self.step as u32], &candle_core::Device::Cpu)?,
        );
        candle_core::safetensors::save(&tensors, path)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let tensors = candle_core::safetensors::load(path, &candle_core::Device::Cpu)
            .with_context(|| format!("cannot read the optimizer state {}", path.display()))?;
        for (i, (name, _)) in self.vars.iter().enumerate() {
            if let (Some(m), Some(v)) = (
                tensors.get(&format!("m.{name}")),
                tensors.get(&format!("v.{name}")),
            ) {
                self.first[i] = m.clone();
                self.second[i] = v.clone();
            }
        }
        if let Some(s) = tensors.get("step") {
            self.step = s.to_vec1::<u32>()?[0] as usize;
        }
        Ok(())
    }
}

/// Linear warm-up to `peak`, then cosine decay to `peak / 10` at `total` steps.
pub fn learning_rate(step: usize, peak: f64, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    let floor = peak / 10.0;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays() {
        assert!(learning_rate(0, 1.0, 10, 100) < 0.2);
        assert!((learning_rate(9, 1.0, 10, 100) - 1.0).abs() < 1e-9);
        assert!(learning_rate(50, 1.0, 10, 100) < 0.9);
        assert!((learning_rate(100, 1.0, 10, 100) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn adamw_minimises_a_quadratic_and_its_state_round_trips() {
        let varmap = VarMap::new();
        let x = varmap
            .get(
                (2, 2),
                "x",
                candle_nn::Init::Const(3.0),
                candle_core::DType::F32,
                &candle_core::Device::Cpu,
            )
            .unwrap();
        let mut opt = AdamW::new(&varmap, 0.0).unwrap();
        for _ in 0..300 {
            let loss = x.sqr().unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap(), 0.05).unwrap();
        }
        let left = x
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(left < 0.1, "{left}");
        let dir = tempfile::tempdir().unwrap();
        opt.save(&dir.path().join("opt.safetensors")).unwrap();
        let mut back = AdamW::new(&varmap, 0.0).unwrap();
        back.load(&dir.path().join("opt.safetensors")).unwrap();
        assert_eq!(back.step, 300);
        let diff = (&back.first[0] - &opt.first[0]).unwrap().abs().unwrap();
        assert_eq!(diff.max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
