//! The header's `rto`, `rpo` and `tier` weighed against what its `impact { }` advises
//! (`crate::advise`, the DR planning guide's calculator): warnings with the advice in the help.

use super::cx::Cx;
use super::header::Header;
use crate::advise::{Advice, CustomerImpact, Regulatory, Strategy};
use crate::diag::Diagnostic;
use crate::model::{fmt_duration, ImpactDecl};

/// Standby classes that tier words and advised strategies share.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Standby {
    Hot,
    Warm,
    Cold,
}

impl Standby {
    /// `critical`|`hot`, `important`|`warm`, `standard`|`cold`; any other tier is free.
    fn of_tier(tier: &str) -> Option<Standby> {
        Some(match tier {
            "critical" | "hot" => Standby::Hot,
            "important" | "warm" => Standby::Warm,
            "standard" | "cold" => Standby::Cold,
            _ => return None,
        })
    }

    fn of_strategy(s: Strategy) -> Standby {
        match s {
            Strategy::HotStandbySyncReplication | Strategy::HotStandbyAsyncReplication => {
                Standby::Hot
            }
            Strategy::WarmStandby => Standby::Warm,
            Strategy::ColdStandby => Standby::Cold,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Standby::Hot => "hot standby",
            Standby::Warm => "warm standby",
            Standby::Cold => "cold standby",
        }
    }
}

fn regulatory_word(r: Regulatory) -> &'static str {
    match r {
        Regulatory::None => "none",
        Regulatory::Moderate => "moderate",
        Regulatory::Strict => "strict",
    }
}

fn customer_word(c: CustomerImpact) -> &'static str {
    match c {
        CustomerImpact::Low => "low",
        CustomerImpact::Medium => "medium",
        CustomerImpact::High => "high",
        CustomerImpact::Critical => "critical",
    }
}

/// The header's `rto`, `rpo` and `tier` against the advice of `impact`.
pub fn judge(cx: &mut Cx, h: &Header, decl: &ImpactDecl, a: &Advice) {
    let advised = format!(
        "`impact` advises RTO {}, RPO {}, {} (the DR planning guide's calculator, from hourly_revenue {}, transactions_per_hour {}, regulatory {}, customer_impact {}, data_recreation_cost {})",
        fmt_duration(a.rto_ms()),
        fmt_duration(a.rpo_ms()),
        a.recommended_strategy.words(),
        decl.hourly_revenue,
        decl.transactions_per_hour,
        regulatory_word(decl.regulatory),
        customer_word(decl.customer_impact),
        decl.data_recreation_cost,
    );
    let objectives = [
        ("rto", h.rto, a.rto_ms(), "drbook::lint::rto_above_advice"),
        ("rpo", h.rpo, a.rpo_ms(), "drbook::lint::rpo_above_advice"),
    ];
    for (key, have, want, code) in objectives {
        let (Some(have), Some(&at)) = (have, h.spans.get(key)) else { continue };
        if have > want {
            cx.error(
                Diagnostic::warning(
                    code,
                    at,
                    format!(
                        "`{key}` of {} is looser than the {} that `impact` advises",
                        fmt_duration(have),
                        fmt_duration(want)
                    ),
                )
                .label("looser than advised")
                .related(decl.span, "impact declared here")
                .help(format!(
                    "{advised}; tighten `{key}` to {} or less, or revisit `impact`",
                    fmt_duration(want)
                )),
            );
        }
    }
    let want = Standby::of_strategy(a.recommended_strategy);
    let (Some(tier), Some(&at)) = (&h.tier, h.spans.get("tier")) else { return };
    let Some(have) = Standby::of_tier(tier) else { return };
    if have != want {
        cx.error(
            Diagnostic::warning(
                "drbook::lint::tier_advice",
                at,
                format!(
                    "`tier {tier}` means {}, but `impact` advises {}",
                    have.name(),
                    want.name()
                ),
            )
            .label("disagrees with the advised strategy")
            .related(decl.span, "impact declared here")
            .help(format!(
                "{advised}; tier words: critical|hot = hot standby, important|warm = warm standby, standard|cold = cold standby"
            )),
        );
    }
}
