//! The analytic anchors of MODEL.md section 8, through the ordinary agent step.

use paymarket::payments::{channel_tables, reach_norm, sales_mix, ChannelInput, Kind};
use paymarket::policy::Policy;
use paymarket::{Scenario, Simulation};

mod common;
use common::{accepting, base, run};

const BASS: &str = r#"
name = "bass"
start = "2020-01"
end = "2022-12"
population = 1e6
seed = 3

[agents]
users = 1000000
merchants = 0

[params]
long_range = 1.0
coverage_weight = 0.0
rescue_weight = 0.0
subsidy_weight = 0.0
churn_rate = 0.0

[[platform]]
id = "w"
init_users = 0.01
innovation = 0.01
imitation = { everyone = 0.3 }

[[channel]]
id = "own"
kind = "own"
weight = 1.0
cash = true
"#;

/// Bass (1969): `F_{t+1} = F_t + (1 − F_t)(p + q·F_t)` with p = 0.01, q = 0.3, F_0 = 0.01,
/// N = 10^6, 36 months.
#[test]
fn bass_diffusion_is_reproduced() {
    let (p, q, k) = (0.01, 0.3, 8.0);
    let s = Scenario::from_toml_str(BASS, "bass").unwrap();
    assert_eq!(s.months(), 36);
    let n = s.agents.users as f64;
    let mut sim = Simulation::new(s).unwrap();
    // F_t of the initial state, then after each step.
    let f0 = (0..n as usize)
        .filter(|&i| sim.users().wallets(i) != 0)
        .count() as f64
        / n;
    let mut sim_f = vec![f0];
    while let Some(r) = sim.step().unwrap() {
        sim_f.push(r.market.adopters / 1e6);
        sim.check_invariants().unwrap();
    }
    assert_eq!(sim_f.len(), 37);

    // Check 1: the whole path stays within 0.005 of the recursion from F_0 = 0.01.
    let mut f = 0.01;
    let mut worst: f64 = 0.0;
    for (t, &fs) in sim_f.iter().enumerate().skip(1) {
        f += (1.0 - f) * (p + q * f);
        worst = worst.max((fs - f).abs());
        assert!(
            (fs - f).abs() <= 0.005,
            "month {t}: simulated {fs}, Bass {f}"
        );
    }
    // The path must actually diffuse (not a trivially flat match).
    assert!(sim_f[36] > 0.9, "F_36 = {}", sim_f[36]);

    // Check 2: each one-step change is within sampling error of the recursion applied to the
    // simulated F_t. Non-adopters adopt independently with hazard h = p + q·f, f the adopting
    // share of K = 8 uniform contacts: Var(ΔF) = (1 − F)·E[h(1 − h)]/N with
    // E[h²] = (p + qF)² + q²F(1 − F)/K. Allow 4.5 standard deviations (37 checks).
    for t in 0..36 {
        let ft = sim_f[t];
        let mean_h = p + q * ft;
        let e_h2 = mean_h * mean_h + q * q * ft * (1.0 - ft) / k;
        let var = (1.0 - ft) * (mean_h - e_h2) / n;
        let expected = (1.0 - ft) * mean_h;
        let got = sim_f[t + 1] - ft;
        assert!(
            (got - expected).abs() <= 4.5 * var.sqrt() + 1e-12,
            "month {t}: ΔF = {got}, expected {expected} ± {}",
            var.sqrt()
        );
    }
    eprintln!("Bass: largest path deviation {worst:.5}");
}

const NEUTRAL: &str = r#"
name = "neutral"
start = "2020-01"
end = "2020-12"
population = 1e6
seed = 5

[agents]
users = 20000
merchants = 3000

[params]
churn_rate = 0.0

[[platform]]
id = "a"
init_users = 1.0

[[platform]]
id = "b"
init_users = 0.4
brand = 0.5

[[platform]]
id = "c"
init_users = 0.2

[[channel]]
id = "garden"
kind = "merchant"
weight = 0.4
cash = false
shops = 10000
init_accept = { a = 1.0, b = 0.3 }

[[channel]]
id = "street"
kind = "merchant"
weight = 0.3
cash = true
shops = 10000
init_accept = { b = 1.0, c = 0.5 }

[[channel]]
id = "own"
kind = "own"
weight = 0.3
cash = false

[[event]]
at = "2020-01"
kind = "interop"
from = "a"
to = "b"
mutual = true

[[event]]
at = "2020-01"
kind = "interop"
from = "b"
to = "c"
mutual = true

[[event]]
at = "2020-01"
kind = "interop"
from = "a"
to = "c"
mutual = true
"#;

/// Interoperability neutrality: with every platform usable everywhere and linked to every
/// other, every user holding a wallet and every shop accepting one, nothing is lost in merchant
/// and own channels, and a second wallet completes no extra sale.
#[test]
fn interoperability_is_neutral() {
    let s = Scenario::from_toml_str(NEUTRAL, "neutral").unwrap();
    let reports = run(s.clone());
    for r in &reports {
        for ch in &r.channels {
            assert_eq!(
                ch.lost, 0.0,
                "{} lost {} in {}",
                r.month, ch.lost, ch.channel
            );
        }
        assert!(r.market.platform_value > 0.0);
    }

    // paid(A ∪ {j}) = paid(A) for every non-empty A, in the garden (no cash) and the street.
    let mut policy = Policy::new(&s);
    policy.advance(&s, &paymarket::policy::Timeline::new(&s).unwrap(), 0);
    let p = 3;
    let n_sets = 1 << p;
    for (c, ch) in s.channels.iter().enumerate().take(2) {
        // Any mix of accepted sets, all non-empty.
        let mut mass = vec![0.0; 2 * n_sets];
        for a in 1..n_sets {
            mass[a] = a as f64;
            mass[n_sets + a] = 0.5;
        }
        let input = ChannelInput {
            c,
            kind: Kind::Merchant {
                has_merchants: true,
            },
            cash: ch.cash,
            steering: 0.5,
            mass: &mass,
            loyalty: 0.6,
            brand: &[0.0, 0.5, 0.0],
            context: 0,
            subsidy_split: 20.0,
        };
        let tables = channel_tables(&policy, &input);
        // Customers: every (H, π) with H non-empty, some weight each.
        let hp_n = n_sets * (p + 1);
        let mut customers = vec![0.0; hp_n];
        for h in 1..n_sets {
            for pi in 0..=p {
                if pi == p || h & (1 << pi) != 0 {
                    customers[h * (p + 1) + pi] = (h + pi + 1) as f64;
                }
            }
        }
        let total: f64 = customers.iter().sum();
        customers.iter_mut().for_each(|w| *w /= total);
        let z = reach_norm(&input, &tables, p);
        for a in 1..n_sets as u8 {
            let base = sales_mix(p, &input, &tables, &customers, &z, a);
            // Every customer can pay every shop, so steering moves nobody: paid = 1 (all of y_k).
            assert!((base.paid - 1.0).abs() < 1e-12, "paid {}", base.paid);
            for j in 0..p {
                let more = sales_mix(p, &input, &tables, &customers, &z, a | (1 << j));
                assert!(
                    (more.paid - base.paid).abs() < 1e-12,
                    "{}: paid({a:#b} + {j}) = {} != paid({a:#b}) = {}",
                    ch.id,
                    more.paid,
                    base.paid
                );
            }
            // Every route reaches a usable wallet: no cash, no loss.
            for h in 1..n_sets {
                for pi in 0..=p {
                    let r = &tables.route[(h * (p + 1) + pi) * (p + 2)..][..p + 2];
                    assert!(
                        r[p] < 1e-15 && r[p + 1] < 1e-15,
                        "route of {h:#b} leaks to the outside option"
                    );
                }
            }
        }
    }
}

/// Deposit barrier: with a deposit above every shop's liquidity, no shop adopts the wallet.
#[test]
fn deposit_above_liquidity_blocks_adoption() {
    let mut s = base();
    s.channels[0].init_accept.insert("b".into(), 0.0);
    let free = run(s.clone());
    s.platforms[1].deposit.insert("shops".into(), 1e12);
    let barred = run(s);
    for r in &barred {
        assert_eq!(
            accepting(r, "shops", "b"),
            0.0,
            "{}: a shop posted a 1e12 deposit",
            r.month
        );
    }
    // Without the deposit, shops do adopt: the test can fail.
    assert!(accepting(free.last().unwrap(), "shops", "b") > 100.0);
}

/// The barrier binds only on shops whose liquidity is below the deposit: with a deposit between
/// the smallest and the largest shop's monthly sales, large shops still adopt.
#[test]
fn deposit_screens_small_shops() {
    let mut s = base();
    s.channels[0].init_accept.insert("b".into(), 0.0);
    s.channels[0].size_sigma = 1.5;
    // Mean monthly sales per shop: spending in shops / shops. Set the deposit at 3 times that.
    let first = run({
        let mut t = s.clone();
        t.end = t.start;
        t
    });
    let per_shop = first[0].channels[0].spend / 10_000.0;
    s.platforms[1]
        .deposit
        .insert("shops".into(), 3.0 * per_shop);
    let with = run(s.clone());
    let without = run({
        let mut t = s.clone();
        t.platforms[1].deposit.clear();
        t
    });
    let a_with = accepting(with.last().unwrap(), "shops", "b");
    let a_without = accepting(without.last().unwrap(), "shops", "b");
    assert!(a_with > 0.0, "large shops can post the deposit");
    assert!(
        a_with < 0.5 * a_without,
        "with {a_with}, without {a_without}"
    );
}
