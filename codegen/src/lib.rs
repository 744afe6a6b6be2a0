//! The generator: reads Mattermost's Go plugin API into one IR (`parse`), and emits every target
//! from it.

pub mod diff;
pub mod emit;
pub mod externals;
pub mod ir;
pub mod naming;
pub mod parse;
pub mod projection;
pub mod source;
pub mod special;

pub use ir::Ir;
