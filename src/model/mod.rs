//! The proposal model: tokenizer, grammar-constrained decoding, the candle network,
//! training and decoding.

pub mod constraint;
pub mod grammar;
pub mod tokenizer;
