//! The REST API's JSON bodies through the one extractor the handlers use: any bytes give a
//! value or a 400 `bad_body`, and what parses survives a round trip unchanged.
#![no_main]

use app::api::{
    ApplianceRollback, ApplianceUpgrade, ClusterUpgradeOptions, HaMaintenance, NewSubscription,
    VmUpdate,
};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use uplift::api_body;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(raw: &[u8]) {
    match api_body::<T>(raw) {
        Ok(value) => {
            let again = serde_json::to_vec(&value).expect("an API type serializes");
            assert_eq!(api_body::<T>(&again).ok().as_ref(), Some(&value));
        }
        Err(error) => assert_eq!(error.code, "bad_body"),
    }
}

fuzz_target!(|raw: &[u8]| {
    match raw.first().map(|b| b % 6) {
        Some(0) => round_trip::<ClusterUpgradeOptions>(&raw[1..]),
        Some(1) => round_trip::<NewSubscription>(&raw[1..]),
        Some(2) => round_trip::<HaMaintenance>(&raw[1..]),
        Some(3) => round_trip::<VmUpdate>(&raw[1..]),
        Some(4) => round_trip::<ApplianceUpgrade>(&raw[1..]),
        Some(5) => round_trip::<ApplianceRollback>(&raw[1..]),
        _ => {}
    }
});
