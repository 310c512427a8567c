//! The header's `objectives { service "NAME" { ... } }` and `impact { }` blocks: services and
//! `NAME VALUE` settings, whose names and values the checker reads.

use super::recover::Ctx;
use super::{Builder, P};
use crate::syntax::ast::{Block, Service, Setting};
use crate::syntax::Rule;

impl Builder {
    /// The `{ service "NAME" { ... } ... }` of `objectives`.
    pub(super) fn objectives_block(&mut self, p: P) -> Block<Service> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| {
                if q.as_rule() != Rule::service {
                    return self.unknown(q, Ctx::Objectives);
                }
                let sspan = self.span(&q);
                let mut it = q.into_inner().skip(1);
                let name = self.value(it.next()?);
                let settings = self.settings_block(it.next()?, Ctx::Service);
                Some(Service { name, settings, span: sspan })
            })
            .collect();
        Block { items, one_line, span }
    }

    /// The `{ NAME VALUE ... }` of a `service` or of `impact`.
    pub(super) fn settings_block(&mut self, p: P, ctx: Ctx) -> Block<Setting> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| {
                if q.as_rule() != Rule::setting {
                    return self.unknown(q, ctx);
                }
                let sspan = self.span(&q);
                let mut it = q.into_inner();
                let name = self.ident(it.next()?);
                Some(Setting { name, value: self.value(it.next()?), span: sspan })
            })
            .collect();
        Block { items, one_line, span }
    }
}
