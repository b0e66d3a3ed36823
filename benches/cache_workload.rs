#![allow(clippy::expect_used, clippy::panic)] // A benchmark stops at the first failure, loudly.
//! The cache workload: a CPA firm's simulated year, then lookup latency at 100,000 entries.
//!
//! `cargo bench -p finops-benches --bench cache_workload` (release). Prints its figures; benches/RESULTS.md keeps
//! the latest ones. `FINOPS_BENCH_SKIP_WORKLOAD=1` measures only the lookup latency, `FINOPS_BENCH_ENTRIES` sets
//! the scope's size, and `--no-default-features` measures the exact scan of a build without usearch.
//!
//! The firm: 40 client companies in 8 sectors, 60 % French-speaking. Each client's statements change once a year
//! by default (`FINOPS_BENCH_UPDATES=4`: every quarter); a new version has a new fingerprint, so nothing cached
//! about the previous numbers can answer. Every week, each client's staff
//! and its CPA ask 0–6 questions (3 on average), drawn from `benches/data/questions.json` (30 intents, 4 French and
//! 4 English paraphrases each): intents by a Zipf law (a few are asked far more often than others, as in any
//! helpdesk), paraphrases uniformly, mostly in the client's language. Every analysis runs the whole pipeline with
//! a scripted model that answers like a correct one, with realistic token counts per phase, priced by the default
//! price table (Sonnet 4.5 for the Analyst and the Validator, DeepSeek for the Researcher: about $0.021 per fresh
//! analysis). Every answer is checked against a fresh computation of the asked intent's figures on the asking
//! client's statements: a hit whose figures differ is a wrong hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use finops_core::analysis::intent;
use finops_core::cache::{Cache, CacheOptions, MemoryCache, PlanCache, PlanEntry, Scope};
use finops_core::embed::{Embedder, HashingEmbedder};
use finops_core::metrics::{self, MetricId};
use finops_core::pipeline::{
    AnalysisPlan, AnalysisRequest, CacheOutcome, Intent, Language, Pipeline,
};
use finops_core::provider::{
    ChatChunk, ChatRequest, ChatStream, Phase, PromptCacheTtl, Provider, TokenUsage,
};
use finops_core::{Decimal, Statements};

const SECTORS: &[&str] = &[
    "restaurants",
    "construction",
    "retail",
    "professional services",
    "manufacturing",
    "transport",
    "health clinics",
    "agriculture",
];

#[derive(Debug, Clone)]
struct IntentSpec {
    id: String,
    metrics: Vec<MetricId>,
    en: Vec<String>,
    fr: Vec<String>,
}

fn load_intents() -> Vec<IntentSpec> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/questions.json"))
        .expect("benches/data/questions.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("questions.json is JSON");
    let strings = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .expect("an array")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    v["intents"]
        .as_array()
        .expect("intents")
        .iter()
        .map(|i| IntentSpec {
            id: i["id"].as_str().expect("id").to_string(),
            metrics: strings(&i["metrics"])
                .iter()
                .map(|m| {
                    *MetricId::ALL
                        .iter()
                        .find(|x| x.id() == m)
                        .unwrap_or_else(|| panic!("unknown metric {m}"))
                })
                .collect(),
            en: strings(&i["en"]),
            fr: strings(&i["fr"]),
        })
        .collect()
}

/// A model that answers every phase correctly for the question's intent, with realistic token counts.
#[derive(Debug)]
struct Model {
    /// Question → intent metrics.
    by_question: HashMap<String, Vec<MetricId>>,
    periods: Vec<String>,
    calls: Mutex<[u64; 3]>,
    /// The simulated time of the analysis running now, in seconds.
    clock: Mutex<f64>,
    /// Validator output tokens summed over its calls: as its schema asks, and as the five-section report would.
    validator_output: Mutex<(u64, u64)>,
    /// The provider's prompt cache: each stable prefix (system prompt and schema) and when it was last used.
    prefixes: Mutex<HashMap<u64, f64>>,
    /// Prompt-cache tokens read and written, per phase.
    cache_tokens: Mutex<[(u64, u64); 3]>,
    /// How long Anthropic keeps a prefix: five minutes or an hour (`FINOPS_BENCH_CACHE_TTL=5m|1h`, default 1h).
    anthropic_ttl: PromptCacheTtl,
}

/// Anthropic keeps a cached prefix five minutes (or an hour, when asked) after its last use, and caches none
/// shorter than 1,024 tokens (Sonnet); DeepSeek caches on its own, bills no write, and keeps prefixes for hours.
const ANTHROPIC_TTL_5M_S: f64 = 300.0;
const ANTHROPIC_TTL_1H_S: f64 = 3600.0;
const ANTHROPIC_MIN_PREFIX: u64 = 1024;
const DEEPSEEK_TTL_S: f64 = 3600.0;

/// Output tokens around a forced tool call's arguments (its name and block).
const TOOL_CALL_TOKENS: u64 = 20;

/// What a model writes in each field of a Validator answer, in tokens: a verdict, the direct answer, a planned
/// metric's entry (its figure id and a comment), and a section of prose. Estimates, not measurements: chosen so that
/// the five-section report asked for until session 19 (answer, metrics, trends, what stands out, caveats) averages
/// the 450 output tokens this bench assumed for it over the same workload, so that the estimate changes only with
/// the fields the schema asks for.
const VERDICT_TOKENS: u64 = 15;
const ANSWER_TOKENS: u64 = 50;
const METRIC_ENTRY_TOKENS: u64 = 40;
const SECTION_TOKENS: u64 = 90;

/// The Validator's output tokens under its schema: a verdict per finding, the answer, an entry per planned metric,
/// and each other prose section the schema asks for; `sections` overrides the count of prose sections.
fn validator_output(schema: &serde_json::Value, sections: Option<u64>) -> u64 {
    let report = &schema["properties"]["report"]["properties"];
    let metrics = report["metrics"]["properties"]
        .as_object()
        .map_or(0, |m| m.len() as u64);
    let verdicts = schema["properties"]["verdicts"]["maxItems"]
        .as_u64()
        .unwrap_or(0);
    let asked = report.as_object().map_or(0, |r| {
        r.keys()
            .filter(|k| *k != "answer" && *k != "metrics")
            .count() as u64
    });
    TOOL_CALL_TOKENS
        + VERDICT_TOKENS * verdicts
        + ANSWER_TOKENS
        + METRIC_ENTRY_TOKENS * metrics
        + SECTION_TOKENS * sections.unwrap_or(asked)
}

/// Tokens of a text: four characters a token (English and French prose, JSON).
fn tokens(chars: usize) -> u64 {
    (chars / 4) as u64
}

impl Model {
    /// A report that answers: every figure the Validator was given, as displayed, in the plan's language.
    fn report(request: &ChatRequest) -> String {
        let asked: serde_json::Value = request
            .messages
            .last()
            // The JSON the request carries (a French request ends with a line in French after it).
            .and_then(|m| {
                serde_json::Deserializer::from_str(&m.content)
                    .into_iter::<serde_json::Value>()
                    .next()?
                    .ok()
            })
            .unwrap_or_default();
        let figures: Vec<String> = asked["figures"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|f| {
                        Some(format!("{} {}", f["id"].as_str()?, f["display"].as_str()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match asked["plan"]["language"].as_str() {
            Some("fr") => format!(
                "Voici les chiffres demandés, sans anomalie : {}.",
                figures.join(" ; ")
            ),
            _ => format!(
                "Here are the figures requested, with no anomaly: {}.",
                figures.join("; ")
            ),
        }
    }

    fn plan(&self, request: &ChatRequest) -> String {
        let text: String = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        // The longest known question the prompt contains (some questions contain shorter ones).
        let metrics = self
            .by_question
            .iter()
            .filter(|(q, _)| text.contains(q.as_str()))
            .max_by_key(|(q, _)| q.len())
            .map(|(_, m)| m.clone())
            .expect("the Analyst prompt holds a known question");
        let intent = if metrics.len() > 8 {
            serde_json::json!("health_check")
        } else {
            serde_json::to_value(metrics[0].category()).expect("a category")
        };
        serde_json::json!({
            "intents": [intent],
            "metrics": metrics.iter().map(|m| m.id()).collect::<Vec<_>>(),
            "periods": self.periods,
        })
        .to_string()
    }

    fn findings(&self, request: &ChatRequest) -> String {
        // Cite the first figure the Researcher was given.
        let text: String = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        let at = text
            .find("@FY")
            .expect("the Researcher prompt lists figures");
        let start = text[..at]
            .rfind(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .map_or(0, |i| i + 1);
        let id = format!("{}@{}", &text[start..at], &text[at + 1..at + 7]);
        serde_json::json!({"findings": [{"text": "The figure is reported for the latest period.", "cites": [id]}]})
            .to_string()
    }
}

#[async_trait::async_trait]
impl Provider for Model {
    fn name(&self) -> &str {
        "workload"
    }

    async fn chat(&self, request: ChatRequest) -> finops_core::Result<ChatStream> {
        self.calls.lock().expect("calls")[request.phase as usize] += 1;
        // Output: what a real model writes for each phase (a plan, findings, a report); input: the request as
        // sent, messages and schema. A plan is ids the schema constrains, with no free text: its own size, plus
        // the tool call around it (a fixed 200 tokens before plans were constrained). Findings are prose a real
        // model writes at length: a fixed count. A report is counted per field its schema asks for.
        let (text, output) = match request.phase {
            Phase::Analyst => {
                let plan = self.plan(&request);
                let output = tokens(plan.len()) + TOOL_CALL_TOKENS;
                (plan, output)
            }
            Phase::Researcher => (self.findings(&request), 500),
            Phase::Validator => {
                let schema = request
                    .schema
                    .as_ref()
                    .map_or(serde_json::Value::Null, |s| s.schema.clone());
                let output = validator_output(&schema, None);
                let mut sums = self.validator_output.lock().expect("validator output");
                sums.0 += output;
                sums.1 += validator_output(&schema, Some(3));
                (
                    serde_json::json!({
                        "verdicts": [{"finding": 0, "status": "confirmed"}],
                        "report": Self::report(&request),
                    })
                    .to_string(),
                    output,
                )
            }
        };
        let schema = request
            .schema
            .as_ref()
            .map_or(0, |s| s.schema.to_string().len());
        // Anthropic's prefix starts with the tools, where the provider sends the phase's stable schema (the same
        // for every document); DeepSeek's with the messages (the schema goes in `response_format`).
        let prefix_schema: String = match request.phase {
            Phase::Researcher => String::new(),
            _ => request.schema.as_ref().map_or(String::new(), |s| {
                s.stable.as_ref().unwrap_or(&s.schema).to_string()
            }),
        };
        let system = request
            .messages
            .first()
            .map_or(String::new(), |m| m.content.clone());
        let all: usize = request.messages.iter().map(|m| m.content.len()).sum();
        let sent_schema = match request.phase {
            Phase::Researcher => schema,
            _ => prefix_schema.len(),
        };
        let input = tokens(all + sent_schema);
        let prefix = tokens(system.len() + prefix_schema.len());
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (request.phase as usize).hash(&mut h);
            system.hash(&mut h);
            prefix_schema.hash(&mut h);
            h.finish()
        };
        let now = *self.clock.lock().expect("clock");
        let (ttl, min) = match request.phase {
            Phase::Researcher => (DEEPSEEK_TTL_S, 64),
            _ => match self.anthropic_ttl {
                PromptCacheTtl::FiveMinutes => (ANTHROPIC_TTL_5M_S, ANTHROPIC_MIN_PREFIX),
                PromptCacheTtl::OneHour => (ANTHROPIC_TTL_1H_S, ANTHROPIC_MIN_PREFIX),
            },
        };
        let (mut read, mut written) = (0, 0);
        if prefix >= min {
            let mut prefixes = self.prefixes.lock().expect("prefixes");
            match prefixes.get(&key) {
                Some(last) if now - last <= ttl => read = prefix,
                _ if request.phase != Phase::Researcher => written = prefix,
                _ => {}
            }
            prefixes.insert(key, now);
        }
        let slot = &mut self.cache_tokens.lock().expect("cache tokens")[request.phase as usize];
        slot.0 += read;
        slot.1 += written;
        let chunks = vec![
            Ok(ChatChunk::Delta { text }),
            Ok(ChatChunk::Usage {
                usage: TokenUsage {
                    input_tokens: input,
                    output_tokens: output,
                    cached_input_tokens: read,
                    cache_write_tokens: written,
                    cache_write_1h_tokens: if self.anthropic_ttl == PromptCacheTtl::OneHour {
                        written
                    } else {
                        0
                    },
                    ..TokenUsage::default()
                },
            }),
        ];
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}

/// A client's statements in a quarter: the bistro document scaled by an integer (sums stay exact), renamed and
/// put in the client's sector.
fn statements(base: &serde_json::Value, client: usize, quarter: usize) -> Statements {
    fn scale(v: &mut serde_json::Value, k: Decimal) {
        match v {
            serde_json::Value::Object(m) => {
                for (key, x) in m.iter_mut() {
                    if key == "income_statement" || key == "balance_sheet" || key == "cash_flow" {
                        for (_, amount) in x.as_object_mut().expect("a statement").iter_mut() {
                            if let Some(s) = amount.as_str()
                                && let Ok(d) = s.parse::<Decimal>()
                            {
                                *amount = serde_json::Value::String((d * k).to_string());
                            }
                        }
                    } else {
                        scale(x, k);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| scale(x, k)),
            _ => {}
        }
    }
    let mut doc = base.clone();
    scale(&mut doc, Decimal::from(1 + client % 9 + 10 * quarter));
    doc["company"]["name"] = format!("Client {client:02} inc.").into();
    doc["company"]["sector"] = SECTORS[client % SECTORS.len()].into();
    Statements::from_json_str(&doc.to_string()).expect("a valid scaled document")
}

/// Figure ids and values, in order.
type Figures = Vec<(String, Option<Decimal>)>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{:.2} µs", d.as_nanos() as f64 / 1000.0)
    } else if d < Duration::from_millis(10) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

async fn workload(intents: &[IntentSpec]) {
    let base: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/data/bistro-saint-denis.json"
        ))
        .expect("the bistro document"),
    )
    .expect("JSON");
    let by_question: HashMap<String, Vec<MetricId>> = intents
        .iter()
        .flat_map(|i| {
            i.en.iter()
                .chain(&i.fr)
                .map(|q| (q.clone(), i.metrics.clone()))
        })
        .collect();
    let periods = vec!["FY2022".to_string(), "FY2023".to_string()];
    let ttl = std::env::var("FINOPS_BENCH_CACHE_TTL").unwrap_or_else(|_| "1h".into());
    let anthropic_ttl = PromptCacheTtl::parse(&ttl).expect("FINOPS_BENCH_CACHE_TTL is 5m or 1h");
    println!("Anthropic prompt cache    {ttl}");
    let model = Arc::new(Model {
        by_question,
        periods: periods.clone(),
        calls: Mutex::new([0; 3]),
        clock: Mutex::new(0.0),
        prefixes: Mutex::new(HashMap::new()),
        cache_tokens: Mutex::new([(0, 0); 3]),
        validator_output: Mutex::new((0, 0)),
        anthropic_ttl,
    });
    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::default());
    // The similarity threshold (default 0.80) can be changed to see its effect: FINOPS_BENCH_THRESHOLD=0.7.
    let threshold = std::env::var("FINOPS_BENCH_THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(CacheOptions::default().threshold);
    println!("semantic threshold        {threshold}");
    let caches = CacheOptions {
        threshold,
        ..CacheOptions::default()
    }
    .open(embedder)
    .await
    .expect("the embedded caches");
    // FINOPS_BENCH_ANALYST_MODEL prices the Analyst as another model (e.g. anthropic/claude-haiku-4.5).
    let analyst = std::env::var("FINOPS_BENCH_ANALYST_MODEL").ok();
    if let Some(m) = &analyst {
        println!("Analyst model             {m}");
    }
    let pipeline = finops_core::config::single_provider(model.clone(), [analyst, None, None])
        .0
        .caches(&caches)
        .build();

    let clients = 40;
    let mut rng = fastrand::Rng::with_seed(2026);
    // Zipf (s = 1) over the intents in a fixed random order.
    let mut order: Vec<usize> = (0..intents.len()).collect();
    rng.shuffle(&mut order);
    let weights: Vec<f64> = (1..=intents.len()).map(|r| 1.0 / r as f64).collect();
    let total_weight: f64 = weights.iter().sum();
    let pick_intent = |rng: &mut fastrand::Rng| -> usize {
        if rng.f64() < 0.3 {
            return rng.usize(..intents.len());
        }
        let mut x = rng.f64() * total_weight;
        for (rank, w) in weights.iter().enumerate() {
            x -= w;
            if x <= 0.0 {
                return order[rank];
            }
        }
        order[intents.len() - 1]
    };
    let french: Vec<bool> = (0..clients).map(|c| c % 5 < 3).collect();

    let mut outcomes: HashMap<CacheOutcome, u64> = HashMap::new();
    // Per phase, over fresh analyses: cost, input tokens, output tokens.
    let mut fresh_phases = [(Decimal::ZERO, 0u64, 0u64); 3];
    let mut degraded = 0u64;
    let (mut spent, mut saved, mut fresh_cost, mut fresh_n) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0u64);
    let mut wrong = 0u64;
    let mut checked = 0u64;
    let mut analysis_times = Vec::new();
    let started = Instant::now();
    // How often a client's statements change in the year (FINOPS_BENCH_UPDATES=4 for quarterly books; the
    // default 1 is the yearly financial statements the document format carries).
    let updates: usize = std::env::var("FINOPS_BENCH_UPDATES")
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|n| [1, 2, 4, 13].contains(n))
        .unwrap_or(1);
    println!("statement versions a year {updates}");
    for quarter in 0..updates {
        let docs: Vec<Arc<Statements>> = (0..clients)
            .map(|c| Arc::new(statements(&base, c, quarter)))
            .collect();
        let mut expected: HashMap<(usize, String), Figures> = HashMap::new();
        for week in 0..52 / updates {
            // Each question at a random time of the week's working hours (five days, 9:00 to 17:00), run in
            // time order: the provider's prompt cache sees them as it would.
            let mut asks_of_week = Vec::new();
            for client in 0..clients {
                let asks = (0..6).filter(|_| rng.bool()).count();
                for _ in 0..asks {
                    let day = rng.usize(..5) as f64;
                    let at = ((quarter * (52 / updates) + week) as f64 * 7.0 + day) * 86_400.0
                        + 9.0 * 3600.0
                        + rng.f64() * 8.0 * 3600.0;
                    asks_of_week.push((at, client, rng.u64(..)));
                }
            }
            asks_of_week.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (at, client, seed) in asks_of_week {
                let mut rng = fastrand::Rng::with_seed(seed);
                *model.clock.lock().expect("clock") = at;
                {
                    let i = pick_intent(&mut rng);
                    let fr = if rng.f64() < 0.85 {
                        french[client]
                    } else {
                        !french[client]
                    };
                    let list = if fr { &intents[i].fr } else { &intents[i].en };
                    let question = &list[rng.usize(..list.len())];
                    let request = AnalysisRequest::new(docs[client].clone(), question.as_str())
                        .tenant("cabinet-tremblay")
                        .client(format!("client-{client:02}"))
                        .language(if fr { Language::Fr } else { Language::En });
                    let t = Instant::now();
                    let a = pipeline.analyze(request).await.expect("an analysis");
                    analysis_times.push(t.elapsed());
                    *outcomes.entry(a.cache).or_default() += 1;
                    if a.degraded {
                        degraded += 1;
                        if degraded <= 3 {
                            eprintln!("DEGRADED `{question}`: {:?}", a.degraded_reason);
                        }
                    }
                    spent += a.total_cost_usd.expect("a known cost");
                    saved += a.saved_usd.unwrap_or(Decimal::ZERO);
                    if a.cache == CacheOutcome::Miss {
                        fresh_cost += a.total_cost_usd.expect("a known cost");
                        fresh_n += 1;
                        for u in &a.usage {
                            let slot = &mut fresh_phases[u.phase as usize];
                            slot.0 += u.cost_usd.unwrap_or_default();
                            slot.1 += u.input_tokens;
                            slot.2 += u.output_tokens;
                        }
                    }
                    // The figures a fresh analysis of this question computes on this client's statements: the
                    // asked intent's, with the metrics the question names when that plan holds none of them (as
                    // the pipeline completes a plan).
                    let want = expected
                        .entry((client, question.clone()))
                        .or_insert_with(|| {
                            let mut plan = AnalysisPlan {
                                intents: Vec::new(),
                                metrics: intents[i].metrics.clone(),
                                periods: periods.clone(),
                                comparisons: Vec::new(),
                                language: Language::En,
                                benchmark: false,
                            };
                            intent::include_named(&mut plan, &intent::named_metrics(question));
                            metrics::compute(&docs[client], &plan.metrics, &periods)
                                .expect("figures")
                                .into_iter()
                                .map(|f| (f.id.to_string(), f.value))
                                .collect()
                        });
                    let got: Figures = a
                        .figures
                        .iter()
                        .map(|f| (f.id.to_string(), f.value))
                        .collect();
                    checked += 1;
                    if &got != want {
                        wrong += 1;
                        if wrong <= 5 {
                            eprintln!(
                                "WRONG ({:?}): `{question}` got {} figures, wanted {} ({})",
                                a.cache,
                                got.len(),
                                want.len(),
                                intents[i].id
                            );
                        }
                    }
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let n: u64 = outcomes.values().sum();
    let share = |o: CacheOutcome| {
        let k = outcomes.get(&o).copied().unwrap_or(0);
        format!("{k} ({:.1} %)", 100.0 * k as f64 / n as f64)
    };
    let hits = n - outcomes.get(&CacheOutcome::Miss).copied().unwrap_or(0);
    let calls = *model.calls.lock().expect("calls");
    analysis_times.sort();
    println!("== Cache workload: one CPA firm, 40 clients, 8 sectors, 52 weeks ==");
    println!(
        "analyses                  {n} ({:.0} per second, p50 {} p99 {} each)",
        n as f64 / elapsed.as_secs_f64(),
        fmt(percentile(&analysis_times, 0.5)),
        fmt(percentile(&analysis_times, 0.99))
    );
    println!("miss                      {}", share(CacheOutcome::Miss));
    println!("exact hits                {}", share(CacheOutcome::Exact));
    println!(
        "semantic hits             {}",
        share(CacheOutcome::Semantic)
    );
    println!("plan hits                 {}", share(CacheOutcome::Plan));
    println!(
        "answered from a cache     {:.1} % (exact + semantic; plan hits still run 2 phases)",
        100.0
            * (outcomes.get(&CacheOutcome::Exact).copied().unwrap_or(0)
                + outcomes.get(&CacheOutcome::Semantic).copied().unwrap_or(0)) as f64
            / n as f64
    );
    println!(
        "any cache tier            {:.1} %",
        100.0 * hits as f64 / n as f64
    );
    println!(
        "model calls               analyst {} · researcher {} · validator {}",
        calls[0], calls[1], calls[2]
    );
    println!(
        "degraded analyses         {degraded} (a scripted model that answers correctly: should be 0)"
    );
    println!(
        "cost per fresh analysis   ${}",
        (fresh_cost / Decimal::from(fresh_n.max(1))).round_dp(5)
    );
    println!(
        "blended cost per analysis ${}",
        (spent / Decimal::from(n)).round_dp(5)
    );
    let cache_tokens = *model.cache_tokens.lock().expect("cache tokens");
    for phase in Phase::ALL {
        let (cost, input, output) = fresh_phases[phase as usize];
        let n = Decimal::from(fresh_n.max(1));
        let (read, written) = cache_tokens[phase as usize];
        println!(
            "  {:<10} per fresh analysis ${} ({} in, {} out); prompt cache over the run: {read} tokens read, {written} written",
            phase.to_string(),
            (cost / n).round_dp(5),
            input / fresh_n.max(1),
            output / fresh_n.max(1),
        );
    }
    let (asked, five) = *model.validator_output.lock().expect("validator output");
    let validator_calls = calls[2].max(1);
    println!(
        "validator output          {} tokens a call on average as its schema asks; {} for the five-section report",
        asked / validator_calls,
        five / validator_calls
    );
    println!(
        "without caches            ${} per analysis",
        ((spent + saved) / Decimal::from(n)).round_dp(5)
    );
    println!(
        "spent / saved             ${} / ${}",
        spent.round_dp(2),
        saved.round_dp(2)
    );
    println!(
        "wrong hits                {wrong} of {checked} answers checked against fresh figures"
    );
}

async fn latency() {
    // Exact tier: 100,000 entries in moka; lookups of present keys.
    let one = Arc::new(
        Pipeline::default()
            .analyze(AnalysisRequest::new(
                Statements::from_json_str(
                    &std::fs::read_to_string(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/../examples/data/bistro-saint-denis.json"
                    ))
                    .expect("bistro"),
                )
                .expect("valid"),
                "Quelle est notre marge brute ?",
            ))
            .await
            .expect("an analysis"),
    );
    let exact = MemoryCache::new(200_000, Duration::from_secs(3600));
    let keys: Vec<String> = (0..100_000)
        .map(|i| {
            finops_core::cache::exact_key(
                "default",
                &format!("{i:064x}"),
                "Quelle est notre marge brute ?",
                Language::Fr,
                "config",
            )
        })
        .collect();
    for k in &keys {
        exact.put(k, one.clone()).await.expect("put");
    }
    // Steady state: moka's pending write maintenance done (it otherwise runs inside the first reads).
    assert_eq!(exact.len().await, 100_000);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut times = Vec::with_capacity(100_000);
    let mut key_times = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let i = rng.usize(..keys.len());
        let t = Instant::now();
        let k = finops_core::cache::exact_key(
            "default",
            &format!("{i:064x}"),
            "Quelle est notre marge brute ?",
            Language::Fr,
            "config",
        );
        key_times.push(t.elapsed());
        let t = Instant::now();
        let hit = exact.get("default", &k).await.expect("get");
        times.push(t.elapsed());
        assert!(hit.is_some());
    }
    times.sort();
    key_times.sort();
    println!("\n== Lookup latency ==");
    println!(
        "exact hit, 100,000 entries      p50 {} · p99 {} (key hashing, apart: p50 {} · p99 {})",
        fmt(percentile(&times, 0.5)),
        fmt(percentile(&times, 0.99)),
        fmt(percentile(&key_times, 0.5)),
        fmt(percentile(&key_times, 0.99)),
    );

    // Semantic tier: 100,000 questions in ONE scope (the worst case: one tenant and sector holding them all).
    let embedder = Arc::new(HashingEmbedder::default());
    let tier = PlanCache::new(
        embedder.clone(),
        finops_core::cache::SemanticOptions::default(),
    )
    .expect("a tier");
    let scope = Scope {
        tenant: "default".into(),
        key: "sector".into(),
    };
    let templates = [
        "What was the {m} of {e} in {y} compared with {n} k$?",
        "Quelle était la {m} de {e} en {y} par rapport à {n} k$ ?",
        "Show the {m} for {e} over {y}, threshold {n}",
        "Montre la {m} pour {e} sur {y}, seuil {n}",
    ];
    let things = [
        "gross margin",
        "net margin",
        "marge brute",
        "marge nette",
        "current ratio",
        "fonds de roulement",
        "debt to equity",
        "rotation des stocks",
    ];
    let names = [
        "Laval",
        "Lévis",
        "Gatineau",
        "Sherbrooke",
        "Trois-Rivières",
        "Saguenay",
        "Rimouski",
        "Montréal",
        "Québec",
        "Granby",
    ];
    let question = |i: usize| -> String {
        templates[i % 4]
            .replace("{m}", things[(i / 4) % things.len()])
            .replace("{e}", names[(i / 32) % names.len()])
            .replace("{y}", &(2000 + (i / 320) % 25).to_string())
            .replace("{n}", &(i / 8000).to_string())
    };
    let plan = PlanEntry {
        plan: AnalysisPlan {
            intents: vec![Intent::Profitability],
            metrics: vec![MetricId::GrossMargin],
            periods: vec!["FY2023".into()],
            comparisons: vec![],
            language: Language::En,
            benchmark: false,
        },
        cost_usd: None,
    };
    let t = Instant::now();
    // FINOPS_BENCH_ENTRIES: the scope's size (default 100,000).
    let n: usize = std::env::var("FINOPS_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut embed_times = Vec::with_capacity(n);
    for i in 0..n {
        let q = question(i);
        let te = Instant::now();
        let v = embedder.vector(&q);
        embed_times.push(te.elapsed());
        tier.insert_vector(&scope, &q, "c", v, plan.clone())
            .await
            .expect("insert");
    }
    let build = t.elapsed();
    let mut times = Vec::with_capacity(10_000);
    let mut found = 0;
    for _ in 0..10_000 {
        let i = rng.usize(..n);
        // A variant of a stored question (other punctuation and spacing) that the guard accepts.
        let q = format!("  {}!", question(i).replace('?', ""));
        let v = embedder.vector(&q);
        let t = Instant::now();
        let hit = tier.lookup_vector(&scope, &q, &v, None);
        times.push(t.elapsed());
        found += usize::from(hit.is_ok());
    }
    times.sort();
    embed_times.sort();
    println!(
        "semantic lookup, {n} in one scope  p50 {} · p99 {} ({} + guard; {found} of 10,000 reused)",
        fmt(percentile(&times, 0.5)),
        fmt(percentile(&times, 0.99)),
        if cfg!(feature = "hnsw") {
            "HNSW search"
        } else {
            "exact scan"
        },
    );
    println!(
        "  embedding (hashing, 256-d), apart    p50 {} · p99 {}; building the {n}-entry index took {:.1} s",
        fmt(percentile(&embed_times, 0.5)),
        fmt(percentile(&embed_times, 0.99)),
        build.as_secs_f64()
    );
}

fn main() {
    let intents = load_intents();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if std::env::var_os("FINOPS_BENCH_SKIP_WORKLOAD").is_none() {
        runtime.block_on(workload(&intents));
    }
    if std::env::var_os("FINOPS_BENCH_SKIP_LATENCY").is_none() {
        runtime.block_on(latency());
    }
}
