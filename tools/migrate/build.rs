//! refinery embeds migrations/ at compile time: rebuild when it changes
//! (a new migration file would otherwise be missed by an incremental build).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
