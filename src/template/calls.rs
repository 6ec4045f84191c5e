//! The renders dbt makes outside a node's own SQL, on the same templates:
//! the naming macros (`generate_*_name`) while planning, a custom incremental
//! or snapshot strategy's macro at run time, Jinja in YAML config values, and
//! generic test arguments. Each starts from the shared base context; the node
//! renders themselves are in the parent module.

use super::*;

impl Templates {
    /// Whether the root project names relations itself: it defines
    /// `generate_database_name`, `generate_schema_name` or
    /// `generate_alias_name` (or their `default__` / `duckdb__` versions).
    pub fn names_relations_itself(&self) -> bool {
        let Some(root) = self.macros.packages.get(&self.macros.root) else { return false };
        ["database", "schema", "alias"]
            .iter()
            .any(|w| ["", "default__", "duckdb__"].iter().any(|p| root.contains_key(&format!("{p}generate_{w}_name"))))
    }

    /// A custom incremental strategy's statement: the project's (or a
    /// package's) `get_incremental_<strategy>_sql(arg_dict)`, rendered at run
    /// time with `this` the target and `config` the model's (the macro may
    /// read `sql_header` or `merge_update_columns`); a missing macro is dbt's error.
    pub fn incremental_strategy_sql(
        &self,
        strategy: &str,
        this: &Relation,
        arg_dict: Value,
        config: Arc<crate::config_tree::ConfigMap>,
        package: Option<&str>,
    ) -> Result<String, String> {
        let name = format!("get_incremental_{strategy}_sql");
        if self.macros.unqualified_in(self.scope(package), &name).is_none() {
            return Err(format!(
                "could not find an incremental strategy macro with the name `{name}` (hint: define `{name}(arg_dict)` in `macros/`, or use `append`, `delete+insert` or `merge`)"
            ));
        }
        let mut ctx = self.base_ctx_in(package, this, true, true);
        ctx.push(("config", config_obj::ConfigObj::value(None, config)));
        ctx.push(("__runner_arg_dict", arg_dict));
        let text = format!("{{{{ {name}(__runner_arg_dict) }}}}");
        limits::render(|| self.env.render_str(&text, self.context(ctx))).map_err(|e| describe(&e))
    }

    /// dbt's `strategy_dispatch`: the macro `snapshot_<name>_strategy` that
    /// snapshot strategy `strategy` of a node of `package` names, and whether
    /// it is runner's built-in one. `pkg.name` is package `pkg`'s (`dbt` and
    /// the root project's name included); a plain name is the node's
    /// package's, the root project's, then dbt's. Not found: dbt's message.
    pub fn snapshot_strategy_macro(&self, strategy: &str, package: Option<&str>) -> Result<(Value, bool), String> {
        let (namespace, name) = match strategy.split_once('.') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, strategy),
        };
        let wanted = format!("snapshot_{name}_strategy");
        let hint = format!(
            "define `{wanted}(node, snapshotted_rel, current_rel, model_config, target_exists)` in `macros/`, or use `timestamp` or `check`"
        );
        let found = match namespace {
            Some(ns) if !self.macros.packages.contains_key(ns) => {
                return Err(format!(
                    "Could not find package '{ns}', called with '{strategy}' (hint: install `{ns}` in `packages.yml` and run `runner deps`)"
                ))
            }
            Some(ns) => self.macros.get(ns, &wanted).map(|m| (m, ns == namespaces::BUILTIN)),
            None => self.macros.unqualified_in(self.scope(package), &wanted).map(|m| {
                let builtin = self.macros.package_of(self.scope(package), &wanted) == Some(namespaces::BUILTIN);
                (m, builtin)
            }),
        };
        found.ok_or_else(|| {
            let ns = namespace.unwrap_or("None");
            format!("The specified strategy macro '{name}' was not found in package '{ns}' (hint: {hint})")
        })
    }

    /// Calls a snapshot's strategy macro (from
    /// [`Templates::snapshot_strategy_macro`]) as dbt's snapshot
    /// materialization does: with the node, the staging SQL's two aliases,
    /// the node's config and whether its table exists, in the node's render
    /// context (`model` is the node too). What it returns.
    pub fn call_snapshot_strategy(
        &self,
        callee: Value,
        rc: &RenderCtx,
        node: Value,
        target_exists: bool,
    ) -> Result<Value, String> {
        let scope = rc.package.as_deref();
        let mut ctx = self.base_ctx_in(scope, &rc.this, true, false);
        self.push_resolving(&mut ctx, &rc.relations, scope, None);
        ctx.push(("config", config_obj::ConfigObj::value(None, rc.config.clone())));
        ctx.push(("model", node.clone()));
        ctx.push(("__runner_strategy", callee));
        ctx.push(("__runner_node", node));
        ctx.push(("__runner_model_config", Value::from(Serde(rc.config.as_ref()))));
        ctx.push(("__runner_target_exists", Value::from(target_exists)));
        let call = "__runner_strategy(__runner_node, 'snapshotted_data', 'source_data', __runner_model_config, __runner_target_exists)";
        let compiled = self.env.compile_expression(call).map_err(|e| describe(&e))?;
        limits::render(|| compiled.eval(self.context(ctx))).map_err(|e| describe(&e))
    }

    /// Whether package `package` defines `generate_<which>_name` itself, which
    /// dbt then calls for that package's nodes instead of the root project's.
    pub fn package_names_relations(&self, package: &str, which: &str) -> bool {
        package != self.macros.root
            && self.macros.packages.get(package).is_some_and(|m| m.contains_key(&format!("generate_{which}_name")))
    }

    /// `generate_<which>_name(custom, node)`, called as dbt calls it while
    /// parsing a node (`execute` false); the result with whitespace trimmed.
    /// A node of a package that defines the macro gets the package's own
    /// (dbt's `find_generate_macro_by_name` with the imported package);
    /// every other node the root project's, else dbt's.
    pub fn generate_name(
        &self,
        which: &str,
        custom: Option<&str>,
        node: Value,
        package: &str,
    ) -> Result<String, String> {
        let mut ctx = self.base_ctx(&Relation::new("", "", ""), false, false);
        ctx.push(("__runner_custom", custom.map(Value::from).unwrap_or(Value::from(()))));
        ctx.push(("__runner_node", node));
        let callee = match self.package_names_relations(package, which) {
            true => format!("{package}.generate_{which}_name"),
            false => format!("generate_{which}_name"),
        };
        let text = format!("{{{{ {callee}(__runner_custom, __runner_node) }}}}");
        limits::render(|| self.env.render_str(&text, Value::from_pairs(ctx)))
            .map(|s| s.trim().to_string())
            .map_err(|e| describe(&e))
    }

    /// Renders a YAML config value written as Jinja, such as
    /// `where: "day >= '{{ var('since') }}'"`, with `var`, `env_var` and `target`.
    pub fn render_config_str(&self, text: &str) -> Result<String, String> {
        self.render_config_str_in(None, text)
    }

    /// [`Templates::render_config_str`] for a node of package `scope`.
    pub fn render_config_str_in(&self, scope: Option<&str>, text: &str) -> Result<String, String> {
        let ctx = self.base_ctx_in(scope, &Relation::new("", "", ""), false, false);
        // Date arithmetic (`modules.datetime.date.today() - …timedelta(2)`) as in a model.
        let text = pyops::rewrite_datetime_arithmetic(text);
        limits::render(|| self.env.render_str(&text, self.context(ctx))).map_err(|e| describe(&e))
    }

    /// Evaluates a YAML test argument such as `ref('customers')`, recording its refs.
    pub fn eval_arg(
        &self,
        expr: &str,
        this: &Relation,
        relations: Option<&Arc<Relations>>,
        scope: Option<&str>,
    ) -> Result<(String, Recorded), String> {
        self.eval_with_config(expr, this, relations, Arc::default(), scope)
    }

    /// [`Templates::eval_arg`] with the node's config behind `config.get`;
    /// `scope` is the package of the test evaluated (`None`: the root project).
    pub fn eval_with_config(
        &self,
        expr: &str,
        this: &Relation,
        relations: Option<&Arc<Relations>>,
        config: Arc<crate::config_tree::ConfigMap>,
        scope: Option<&str>,
    ) -> Result<(String, Recorded), String> {
        let rec = Arc::new(Mutex::new(Recorded::default()));
        let mut ctx = self.base_ctx_in(scope, this, relations.is_some(), false);
        match relations {
            Some(r) => {
                self.push_resolving(&mut ctx, r, scope, None);
                ctx.push(("config", config_obj::ConfigObj::value(None, config)));
            }
            None => {
                let (r1, r2, r3) = (rec.clone(), rec.clone(), rec.clone());
                // A test macro's `{{ config(severity='warn') }}` is recorded like a model's.
                ctx.push(("config", config_obj::ConfigObj::value(Some(r3), config)));
                let db = this.database.clone();
                let db2 = this.database.clone();
                let schema = this.schema.clone();
                ctx.push((
                    "ref",
                    Value::from_function(
                        move |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| -> Result<Value, Error> {
                            let call = super::refs::parse(&args.into_values())?;
                            let rel = Relation::new(&db, &schema, &call.name);
                            lock(&r1).refs.push(call);
                            Ok(rel.to_value())
                        },
                    ),
                ));
                ctx.push((
                    "source",
                    Value::from_function(move |s: String, t: String| -> Result<Value, Error> {
                        let rel = Relation::new(&db2, &s, &t);
                        lock(&r2).sources.push((s, t));
                        Ok(rel.to_value())
                    }),
                ));
            }
        }
        // Arguments are evaluated while planning: a `log()` in a test macro waits for the run.
        ctx.push((context::RUNTIME, context::Runtime::new(None, true)));
        let compiled = self.env.compile_expression_owned(expr.to_string()).map_err(|e| describe(&e))?;
        let v = limits::render(|| compiled.eval(self.context(ctx))).map_err(|e| describe(&e))?;
        let out = lock(&rec).clone();
        Ok((v.to_string(), out))
    }
}
