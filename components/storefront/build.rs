//! Embeds `storefront/dist` (built by `cargo xtask build`: `npm run build`)
//! as a table of `static_site::Asset`s with content types, strong ETags and
//! gzip forms computed here, so a request does no I/O and no hashing.
//! Without a build the table is empty and the component answers 503.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest_dir.join("../../storefront/dist");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut paths = Vec::new();
    files(&dist, &mut paths);
    paths.sort();
    if paths.is_empty() {
        println!(
            "cargo:warning=storefront/dist is empty: the storefront answers 503 until `cargo xtask build` builds it"
        );
    }
    let mut table = String::from("&[\n");
    for (i, path) in paths.iter().enumerate() {
        let rel = path
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let url = format!("/{rel}");
        let bytes = std::fs::read(path).unwrap();
        let content_type = static_site::content_type(&rel);
        let etag = static_site::etag_of(&bytes);
        let gzip_form = if static_site::compressible(content_type) {
            let gz = gzip(&bytes);
            (gz.len() < bytes.len()).then(|| {
                let file = out_dir.join(format!("asset-{i}.gz"));
                std::fs::write(&file, &gz).unwrap();
                let gz_etag = format!("{}-gz\"", etag.trim_end_matches('"'));
                format!(
                    "Some(({gz_etag:?}, include_bytes!({:?})))",
                    file.display().to_string()
                )
            })
        } else {
            None
        };
        let _ = writeln!(
            table,
            "    Asset {{ path: {url:?}, content_type: {content_type:?}, etag: {etag:?}, body: include_bytes!({:?}), gzip: {} }},",
            path.display().to_string(),
            gzip_form.unwrap_or_else(|| "None".to_string()),
        );
    }
    table.push(']');
    std::fs::write(out_dir.join("assets.rs"), table).unwrap();
}
