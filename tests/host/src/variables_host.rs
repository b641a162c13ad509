//! `fermyon:spin/variables@2.0.0`: a component sees only its own variables.

use crate::bindings::fermyon::spin2_0_0::variables::{Error, Host};
use crate::runtime::HostState;

impl Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if crate::variables::check_name(&name).is_err() {
            return Ok(Err(Error::InvalidName(name)));
        }
        let counter = if self.config.templated.contains(&name) {
            &self.services.stats.variables_app
        } else {
            &self.services.stats.variables_literal
        };
        crate::stats::Stats::bump(counter);
        Ok(self
            .config
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}"))))
    }
}
