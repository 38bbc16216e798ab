//! The two markets the cost of contexts is measured on (`benches/contexts.rs`,
//! `examples/contexts_cost.rs`): `data/scenarios/contexts.toml` with four contexts (the
//! storefront given a context of its own, `store`, with the global parameters) or with none.

use paymarket::scenario::Context;
use paymarket::Scenario;

/// The scenario with four contexts (`contexts = 4`) or none (`contexts = 1`), `users` users
/// and 10 merchants per 100 users.
pub fn variant(contexts: usize, users: u64) -> Scenario {
    let mut s = Scenario::load("data/scenarios/contexts.toml").expect("scenario");
    if contexts == 4 {
        s.contexts.push(Context {
            id: "store".into(),
            ..Context::default()
        });
        let store = s
            .channels
            .iter_mut()
            .find(|c| c.id == "storefront")
            .expect("the storefront channel");
        store.context = Some("store".into());
    } else {
        s.contexts.clear();
        for ch in &mut s.channels {
            ch.context = None;
        }
    }
    s.agents.users = users;
    s.agents.merchants = users / 10;
    s
}
