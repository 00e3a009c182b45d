//! The total and the facet counts of a directory search (themes, phases,
//! départements, régions, software, providers), in one statement.

use super::builder::{Sql, bind_args};
use crate::db::{Store, StoreResult, on_pool};
use crate::directory::search::{Facet, Facets};
use crate::referential::Referential;
use crate::taxonomy::Taxonomy;

impl Store {
    /// The total and the facet counts of a built query.
    pub(super) async fn counts(&self, sql: &Sql) -> StoreResult<(i64, Facets)> {
        let filter = sql.filter_ids(false);
        let referential = Referential::global();
        let taxonomy = Taxonomy::global();
        let label_theme = |key: &str| {
            taxonomy
                .theme(key)
                .map(|t| t.label.clone())
                .unwrap_or_default()
        };
        let label_phase = |key: &str| {
            crate::domain::Phase::parse(key)
                .map(|p| p.label().to_string())
                .unwrap_or_default()
        };
        let label_dep = |key: &str| {
            referential
                .departement(key)
                .map(|d| d.nom.clone())
                .unwrap_or_default()
        };
        let label_reg = |key: &str| {
            referential
                .region(key)
                .map(|r| r.nom.clone())
                .unwrap_or_default()
        };
        let to_facets = |rows: Vec<(String, i64)>, label: &dyn Fn(&str) -> String| {
            let mut facets: Vec<Facet> = rows
                .into_iter()
                .map(|(key, count)| Facet {
                    label: label(&key),
                    key,
                    count,
                })
                .collect();
            facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
            facets
        };
        // One statement: the matching ids are found once (`hits`) and every count
        // reads them; index tables hold live actions only, so with no condition but
        // liveness they are counted whole.
        let within = if sql.matches_all_live() {
            ""
        } else {
            "AND action_id IN (SELECT id FROM hits)"
        };
        let text = format!(
            "WITH hits AS MATERIALIZED (SELECT a.id AS id, a.phase AS phase {filter}) \
             SELECT 'total' AS facet, '' AS key, COUNT(*) AS n FROM hits \
             UNION ALL SELECT 'phase', phase, COUNT(*) FROM hits GROUP BY phase \
             UNION ALL SELECT 'theme', theme, COUNT(*) FROM action_themes \
               WHERE TRUE {within} GROUP BY theme \
             UNION ALL SELECT 'departement', departement, COUNT(DISTINCT action_id) \
               FROM action_places WHERE departement IS NOT NULL {within} GROUP BY departement \
             UNION ALL SELECT 'region', region, COUNT(DISTINCT action_id) \
               FROM action_places WHERE region IS NOT NULL {within} GROUP BY region \
             UNION ALL SELECT 'software', MIN(name), COUNT(DISTINCT action_id) \
               FROM action_software WHERE TRUE {within} GROUP BY name_key \
             UNION ALL SELECT 'provider', MIN(name), COUNT(DISTINCT action_id) \
               FROM action_providers WHERE TRUE {within} GROUP BY name_key"
        );
        let keep = sql.full_text().keeps_plans();
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(text)), &sql.args)
                .persistent(keep)
                .fetch_all(pool)
                .await?
        });
        let mut total = 0;
        let (mut theme, mut phase, mut departement, mut region, mut software, mut provider) =
            Default::default();
        for (facet, key, count) in rows {
            let list: &mut Vec<(String, i64)> = match facet.as_str() {
                "total" => {
                    total = count;
                    continue;
                }
                "phase" => &mut phase,
                "theme" => &mut theme,
                "departement" => &mut departement,
                "region" => &mut region,
                "software" => &mut software,
                _ => &mut provider,
            };
            list.push((key, count));
        }
        let facets = Facets {
            theme: to_facets(theme, &label_theme),
            phase: to_facets(phase, &label_phase),
            departement: to_facets(departement, &label_dep),
            region: to_facets(region, &label_reg),
            software: to_facets(software, &|k: &str| k.to_string()),
            provider: to_facets(provider, &|k: &str| k.to_string()),
        };
        Ok((total, facets))
    }
}
