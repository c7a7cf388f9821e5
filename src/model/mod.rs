//! The proposal model: tokenizer, grammar-constrained decoding, the candle network,
//! training and decoding.

pub mod bundle;
pub mod cli;
pub mod constraint;
pub mod curve;
pub mod dataset;
pub mod decode;
pub mod evaluate;
pub mod grammar;
pub mod inference;
pub mod network;
pub mod optim;
pub mod picture;
pub mod seeded;
pub mod segment_guard;
pub mod tokenizer;
pub mod train;
