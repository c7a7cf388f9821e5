//! Reproducible initial weights: candle draws them from an unseedable generator on the
//! CPU, so an untrained model (tests, `bench model --untrained`) would differ on every
//! run. This `VarBuilder` backend creates the variables in a `VarMap` as
//! `VarBuilder::from_varmap` does, with the same `Init` distributions, drawn from a
//! generator seeded by the caller.

use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A builder that adds f32 variables to `varmap`, initialised from `seed`.
pub fn seeded_builder(varmap: &VarMap, seed: u64) -> VarBuilder<'static> {
    let backend = SeededInit {
        varmap: varmap.clone(),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
    };
    VarBuilder::from_backend(Box::new(backend), DType::F32, Device::Cpu)
}

struct SeededInit {
    varmap: VarMap,
    rng: Mutex<ChaCha8Rng>,
}

impl SimpleBackend for SeededInit {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self.varmap.data().lock().expect("VarMap lock");
        if let Some(var) = data.get(name) {
            if var.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} <> {:?}", var.shape())
            }
            return Ok(var.as_tensor().clone());
        }
        // (normal rather than uniform, mean, standard deviation)
        let (normal, mean, std) = match h {
            Init::Const(c) => (false, c, 0.0),
            Init::Randn { mean, stdev } => (true, mean, stdev),
            Init::Uniform { lo, up } => (false, (lo + up) / 2.0, (up - lo) / 12f64.sqrt()),
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => (
                matches!(dist, candle_nn::init::NormalOrUniform::Normal),
                0.0,
                non_linearity.gain() / (fan.for_shape(&s) as f64).sqrt(),
            ),
        };
        let mut rng = self.rng.lock().expect("rng lock");
        let values: Vec<f32> = (0..s.elem_count())
            .map(|_| (mean + std * standard(&mut *rng, normal)) as f32)
            .collect();
        let var = Var::from_tensor(&Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?)?;
        let tensor = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        match self.varmap.data().lock().expect("VarMap lock").get(name) {
            Some(var) => Ok(var.as_tensor().clone()),
            None => candle_core::bail!("no variable named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .expect("VarMap lock")
            .contains_key(name)
    }
}

/// A draw of mean 0 and standard deviation 1: normal (Box-Muller) or uniform.
fn standard(rng: &mut impl Rng, normal: bool) -> f64 {
    if normal {
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    } else {
        3f64.sqrt() * (2.0 * rng.random::<f64>() - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::{CadModel, ModelConfig};

    fn outputs(seed: u64) -> Vec<f32> {
        let varmap = VarMap::new();
        let model = CadModel::new(&ModelConfig::tiny(50), seeded_builder(&varmap, seed)).unwrap();
        let pics = Tensor::ones((1, 1, 64, 64), DType::F32, &Device::Cpu).unwrap();
        let toks = Tensor::new(&[[1u32, 5, 7]], &Device::Cpu).unwrap();
        let logits = model.forward(&pics, &toks).unwrap();
        logits.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn seeded_models_are_identical_and_differ_by_seed() {
        assert_eq!(outputs(3), outputs(3));
        assert_ne!(outputs(3), outputs(4));
    }

    /// The draws follow each variable's `Init`: a constant stays, spreads match.
    #[test]
    fn draws_follow_the_requested_distributions() {
        let varmap = VarMap::new();
        let vb = seeded_builder(&varmap, 1);
        let stats = |t: Tensor| {
            let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let n = v.len() as f32;
            let mean = v.iter().sum::<f32>() / n;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
            (mean, var.sqrt())
        };
        let c = vb.get_with_hints(100, "c", Init::Const(1.5)).unwrap();
        assert_eq!(stats(c), (1.5, 0.0));
        let (m, s) = stats(
            vb.get_with_hints(
                (200, 100),
                "n",
                Init::Randn {
                    mean: 0.5,
                    stdev: 0.02,
                },
            )
            .unwrap(),
        );
        assert!(
            (m - 0.5).abs() < 0.002 && (s - 0.02).abs() < 0.002,
            "{m} {s}"
        );
        let (m, s) = stats(
            vb.get_with_hints((200, 100), "k", candle_nn::init::DEFAULT_KAIMING_NORMAL)
                .unwrap(),
        );
        let want = 2f32.sqrt() / 10.0;
        assert!(m.abs() < 0.01 && (s - want).abs() < 0.01, "{m} {s}");
        // A second request for a name returns the same variable.
        let again = vb.get_with_hints(100, "c", Init::Const(9.0)).unwrap();
        assert_eq!(stats(again).0, 1.5);
    }
}
