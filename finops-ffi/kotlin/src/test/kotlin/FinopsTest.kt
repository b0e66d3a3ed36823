// The real FFI boundary, exercised from Kotlin: the generated bindings over libfinops_ffi.so through JNA.

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetSocketAddress
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import io.finops.AnalysisEvent
import io.finops.ApiKeyFfi
import io.finops.AnalysisRequestFfi
import io.finops.CacheOptionsFfi
import io.finops.CacheStore
import io.finops.ChatAnswer
import io.finops.ChatProvider
import io.finops.ChatRequestFfi
import io.finops.EventListener
import io.finops.Finops
import io.finops.FinopsException
import io.finops.Models
import io.finops.CacheModeFfi
import io.finops.PhaseFfi
import io.finops.PrincipalFfi
import io.finops.ProviderConfigFfi
import io.finops.ProvidersFfi
import io.finops.RoleFfi
import io.finops.events
import io.finops.RateLimitsFfi
import io.finops.TextEmbedder
import io.finops.computeMetrics

private val BISTRO: String = File(System.getProperty("finops.data"), "bistro-saint-denis.json").readText()
private const val PLAN = """{"intents":["liquidity"],"metrics":["current_ratio","working_capital"],"periods":["FY2023"]}"""
private const val RESEARCH = """{"findings":[{"text":"Current assets cover current liabilities.","cites":["current_ratio@FY2023"]}]}"""
private const val VALIDATED = """{"verdicts":[{"finding":0,"status":"confirmed"}],"report":"Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."}"""

/** A provider written in Kotlin: answers each phase like a well-behaved model. */
class KotlinProvider : ChatProvider {
    val phases: MutableList<PhaseFfi> = Collections.synchronizedList(mutableListOf())
    val schemas: MutableList<Pair<String?, String?>> = Collections.synchronizedList(mutableListOf())
    override fun name(): String = "kotlin"
    override suspend fun chat(request: ChatRequestFfi): ChatAnswer {
        phases.add(request.phase)
        schemas.add(request.schemaName to request.schemaJson)
        delay(1)
        val text = when (request.phase) {
            PhaseFfi.ANALYST -> PLAN
            PhaseFfi.RESEARCHER -> RESEARCH
            PhaseFfi.VALIDATOR -> VALIDATED
        }
        return ChatAnswer(text, 12uL, 5uL, "0.0005")
    }
}

class FinopsTest {
    private fun request(question: String) = AnalysisRequestFfi(statementsJson = BISTRO, question = question)

    @Test
    fun computesMetrics() {
        val figures = computeMetrics(BISTRO)
        assertEquals(78, figures.size)
        val gm = figures.first { it.id == "gross_margin@FY2023" }
        assertTrue(gm.value!!.startsWith("0.6896"), gm.value)
        assertEquals("percent", gm.unit)
        assertTrue(gm.inputs.isNotEmpty())
        val growth = figures.first { it.id == "revenue_growth@FY2021" }
        assertNull(growth.value)
        assertTrue(growth.reason!!.contains("previous"))
    }

    @Test
    fun badInputIsATypedErrorWithTheField() {
        val broken = BISTRO.replaceFirst("\"total_assets\": \"2251724.31\"", "\"total_assets\": \"2251724.32\"")
        val e = assertThrows<FinopsException.InvalidStatements> { computeMetrics(broken) }
        assertEquals("periods[0].balance_sheet.total_assets", e.field)
        assertTrue(e.issues.isNotEmpty())
        assertThrows<FinopsException.InvalidStatements> { computeMetrics("{not json") }
        val finops = Finops(offline = true)
        val bad = assertThrows<FinopsException.InvalidArgument> { runBlocking { finops.analyze(request("  ")) } }
        assertEquals("question", bad.field)
        val lang = assertThrows<FinopsException.InvalidArgument> { runBlocking { finops.analyze(request("ok").copy(language = "de")) } }
        assertEquals("language", lang.field)
        assertThrows<FinopsException.InvalidArgument> { Finops(provider = KotlinProvider(), offline = true) }
    }

    @Test
    fun offlineAnalysisInFrench(): Unit = runBlocking {
        val a = Finops(offline = true).analyze(request("Analyse la rentabilité du bistro sur trois ans"))
        assertEquals("fr", a.language)
        assertEquals("offline", a.reportSource)
        assertTrue(a.degraded && a.grounded)
        assertTrue(a.report.contains("Marge brute"))
        assertEquals(21, a.figures.size)
        assertTrue(a.json.contains("\"plan\""))
    }

    @Test
    fun aKotlinProviderDrivesThePipeline(): Unit = runBlocking {
        val provider = KotlinProvider()
        val finops = Finops(provider = provider, models = Models(analyst = "k-analyst"))
        assertEquals("analyst: kotlin k-analyst", finops.routes()[0])
        val a = finops.analyze(request("Is our working capital getting tighter?").copy(tenant = "firm-1"))
        assertEquals(listOf(PhaseFfi.ANALYST, PhaseFfi.RESEARCHER, PhaseFfi.VALIDATOR), provider.phases.toList())
        // Each phase hands the Kotlin provider its answer's JSON Schema, narrowed to the request.
        val schemas = provider.schemas.toList()
        assertEquals(3, schemas.size)
        for ((name, json) in schemas) {
            assertTrue(name != null && name.isNotEmpty(), "schema name $name")
            assertTrue(json != null && json.contains("\"properties\""), "schema $json")
        }
        assertTrue(schemas[0].second!!.contains("\"current_ratio\""), "the plan's schema lists the catalogue's ids")
        assertTrue(schemas[0].second!!.contains("\"FY2023\""), "the plan's schema lists the document's periods")
        assertEquals("validator", a.reportSource)
        assertFalse(a.degraded)
        assertEquals("Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD.", a.report)
        assertEquals("0.0015", a.totalCostUsd)
        assertEquals("firm-1", a.tenant)
    }

    @Test
    fun aFailingKotlinProviderDegrades(): Unit = runBlocking {
        val failing = object : ChatProvider {
            override fun name() = "failing"
            override suspend fun chat(request: ChatRequestFfi): ChatAnswer =
                throw FinopsException.Provider("failing", "HTTP 503 from the gateway", true, 503u.toUShort(), null)
        }
        val a = Finops(provider = failing).analyze(request("liquidity"))
        assertTrue(a.degraded)
        assertEquals("offline", a.reportSource)
        assertTrue(a.degradedReason!!.contains("HTTP 503 from the gateway"), a.degradedReason)
    }

    @Test
    fun aPrincipalScopesTheAnalysis(): Unit = runBlocking {
        val finops = Finops(offline = true)
        val principal = PrincipalFfi("firm-1", RoleFfi.CLIENT, "bistro")
        val a = finops.analyze(request("marges").copy(principal = principal))
        assertEquals("bistro", a.client)
        assertThrows<FinopsException.AccessDenied> {
            runBlocking { finops.analyze(request("marges").copy(principal = principal, client = "other")) }
        }
        Unit
    }

    @Test
    fun aListenerReceivesTheEventsInOrder() {
        val events = Collections.synchronizedList(mutableListOf<AnalysisEvent>())
        val done = CountDownLatch(1)
        val listener = object : EventListener {
            override fun onEvent(event: AnalysisEvent) {
                events.add(event)
                if (event.kind == "completed" || event.kind == "failed") done.countDown()
            }
        }
        val task = Finops(provider = KotlinProvider()).stream(request("Is our working capital getting tighter?"), listener)
        assertTrue(done.await(30, TimeUnit.SECONDS))
        val kinds = events.map { it.kind }.filter { it != "text_delta" }
        assertEquals(
            listOf("queued", "phase_started", "phase_finished", "phase_started", "phase_finished", "phase_started", "phase_finished", "completed"),
            kinds,
        )
        assertEquals("validator", events.last().analysis!!.reportSource)
        Thread.sleep(50)
        assertTrue(task.isFinished())
    }

    @Test
    fun cancellingTheCoroutineStopsTheRustWork(): Unit = runBlocking {
        val calls = AtomicInteger(0)
        val cancelled = CompletableDeferred<Boolean>()
        val hanging = object : ChatProvider {
            override fun name() = "hanging"
            override suspend fun chat(request: ChatRequestFfi): ChatAnswer {
                calls.incrementAndGet()
                try {
                    delay(Long.MAX_VALUE)
                } finally {
                    cancelled.complete(true)
                }
                error("unreachable")
            }
        }
        val finops = Finops(provider = hanging)
        assertThrows<TimeoutCancellationException> { runBlocking { withTimeout(300) { finops.analyze(request("liquidity")) } } }
        withTimeout(5_000) { cancelled.await() }
        delay(200)
        assertEquals(1, calls.get(), "no further phase ran")
    }

    @Test
    fun cancellingAStreamStopsIt() {
        val events = Collections.synchronizedList(mutableListOf<String>())
        val started = CountDownLatch(1)
        val slow = object : ChatProvider {
            override fun name() = "slow"
            override suspend fun chat(request: ChatRequestFfi): ChatAnswer {
                started.countDown()
                delay(Long.MAX_VALUE)
                error("unreachable")
            }
        }
        val listener = object : EventListener {
            override fun onEvent(event: AnalysisEvent) {
                events.add(event.kind)
            }
        }
        val task = Finops(provider = slow).stream(request("liquidity"), listener)
        assertTrue(started.await(10, TimeUnit.SECONDS))
        task.cancel()
        Thread.sleep(200)
        assertTrue(task.isFinished())
        assertFalse(events.contains("completed"))
    }

    @Test
    fun manyAnalysesAtOnce(): Unit = runBlocking {
        val finops = Finops(offline = true)
        val results = (0 until 50).map { i -> async { finops.analyze(request("Bilan de santé").copy(client = "c$i")) } }.awaitAll()
        assertEquals(50, results.map { it.id }.toSet().size)
        assertTrue(results.all { it.grounded })
    }

    @Test
    fun budgetsAndRateLimits(): Unit = runBlocking {
        // The provider's models have no price: each phase reserves the $0.10 fallback, so $0.25 fits no analysis.
        val finops = Finops(provider = KotlinProvider(), budgets = mapOf("firm-1" to "0.25"))
        val e = assertThrows<FinopsException.BudgetExceeded> {
            runBlocking { finops.analyze(request("liquidity").copy(tenant = "firm-1")) }
        }
        assertEquals("firm-1", e.tenant)
        assertEquals("0.25", e.limitUsd)
        assertThrows<FinopsException.InvalidArgument> { Finops(offline = true, budgets = mapOf("firm-1" to "lots")) }
        val limited = Finops(offline = true, rateLimits = RateLimitsFfi(100u, 1u))
        limited.analyze(request("marges").copy(tenant = "firm-1", client = "bistro"))
        val r = assertThrows<FinopsException.RateLimited> {
            runBlocking { limited.analyze(request("marges").copy(tenant = "firm-1", client = "bistro")) }
        }
        assertEquals("principal", r.scope)
        assertTrue(r.retryAfterSecs > 0.0)
    }

    @Test
    fun embedders(): Unit = runBlocking {
        val mine = object : TextEmbedder {
            override fun dimensions(): UInt = 2u
            override suspend fun embed(texts: List<String>): List<List<Float>> = texts.map { listOf(it.length.toFloat(), 1f) }
        }
        assertEquals(listOf(listOf(3f, 1f)), Finops(offline = true, embedder = mine).embed(listOf("abc")))
        val v = Finops(offline = true).embed(listOf("Analyse la rentabilité", "analyse la rentabilite"))
        assertEquals(256, v[0].size)
        assertTrue(v[0].zip(v[1]).sumOf { (a, b) -> (a * b).toDouble() } > 0.99)
    }

    @Test
    fun cachesAnswerAgainForFreeAndTheGuardRefusesTheOppositeQuestion(): Unit = runBlocking {
        val provider = KotlinProvider()
        val finops = Finops(provider = provider, cache = CacheOptionsFfi(threshold = 0.8f))
        val first = finops.analyze(request("Is our working capital getting tighter?"))
        assertEquals("miss", first.cache)
        assertEquals(3, provider.phases.size)
        val again = finops.analyze(request("is our working capital getting tighter"))
        assertEquals("exact", again.cache)
        assertEquals("0", again.totalCostUsd)
        assertEquals("0.0015", again.savedUsd)
        val close = finops.analyze(request("Is the working capital getting tighter?"))
        assertEquals("semantic", close.cache)
        assertTrue(close.cacheSimilarity!!.toDouble() >= 0.8)
        assertEquals(3, provider.phases.size)
        assertEquals("miss", finops.analyze(request("Is our working capital not getting tighter?")).cache)
        assertEquals(6, provider.phases.size)
        val off = finops.analyze(request("Is our working capital getting tighter?").copy(cacheMode = CacheModeFfi.OFF))
        assertEquals("miss", off.cache)
        val badOptions = assertThrows<FinopsException.InvalidArgument> { Finops(offline = true, cache = CacheOptionsFfi(threshold = 2f)) }
        assertEquals("cache.threshold", badOptions.field)
    }

    @Test
    fun theMobileBuildRefusesServerBackendsByName() {
        // finops-ffi is built without the `postgres` and `redis` features (a lean library for phones): configuring
        // either is an error that names the field and the missing feature, never a silent fallback.
        val pg = assertThrows<FinopsException.InvalidArgument> {
            runBlocking {
                Finops(offline = true, cache = CacheOptionsFfi(postgresUrl = "postgres://finops@127.0.0.1:1/finops"))
                    .analyze(request("liquidity"))
            }
        }
        assertEquals("cache.postgres_url", pg.field)
        assertTrue(pg.reason.contains("`postgres` cargo feature"), pg.reason)
        val dir = java.nio.file.Files.createTempDirectory("finops-lean").toString()
        val redis = assertThrows<FinopsException.InvalidArgument> {
            runBlocking {
                Finops(offline = true, cache = CacheOptionsFfi(dataDir = dir, redisUrl = "redis://127.0.0.1:1"))
                    .analyze(request("liquidity"))
            }
        }
        assertEquals("cache.redis_url", redis.field)
        assertTrue(redis.reason.contains("`redis` cargo feature"), redis.reason)
    }

    /** The app's own key-value store as the exact cache tier. */
    class MapStore : CacheStore {
        val values: MutableMap<String, String> = Collections.synchronizedMap(mutableMapOf())
        override suspend fun get(tenant: String, key: String): String? = values["$tenant/$key"]
        override suspend fun put(tenant: String, client: String, key: String, value: String) {
            values["$tenant/$key"] = value
        }
        override suspend fun invalidateTenant(tenant: String) {
            values.keys.removeIf { it.startsWith("$tenant/") }
        }
        override suspend fun invalidateClient(tenant: String, client: String) {}
    }

    @Test
    fun aKotlinStoreCanBeTheExactTier(): Unit = runBlocking {
        val store = MapStore()
        val provider = KotlinProvider()
        val finops = Finops(provider = provider, cacheStore = store)
        assertEquals("miss", finops.analyze(request("Is our working capital getting tighter?")).cache)
        assertEquals(1, store.values.size)
        assertTrue(store.values.values.first().contains("\"stored_at\""))
        assertEquals("exact", finops.analyze(request("Is our working capital getting tighter?")).cache)
        assertEquals(3, provider.phases.size)
        // What the store hands back is checked: garbage is never served as an answer.
        store.values.replaceAll { _, _ -> "garbage" }
        assertTrue(finops.analyze(request("Is our working capital getting tighter?")).cache != "exact")
    }

    @Test
    fun eachFinopsHasItsOwnProvidersAndKeys() {
        val firmA = Finops(providers = ProvidersFfi(openrouter = ProviderConfigFfi(apiKey = ApiKeyFfi("sk-or-firm-a"))))
        val firmB = Finops(
            providers = ProvidersFfi(anthropic = ProviderConfigFfi(apiKey = ApiKeyFfi("sk-ant-firm-b"), headers = mapOf("X-Firm" to "b"))),
            models = Models(analyst = "anthropic/claude-opus-4"),
        )
        assertEquals("analyst: openrouter anthropic/claude-sonnet-4.5", firmA.routes()[0])
        assertEquals("analyst: anthropic claude-opus-4", firmB.routes()[0])
        val missing = assertThrows<FinopsException.InvalidArgument> { Finops(providers = ProvidersFfi(openai = ProviderConfigFfi())) }
        assertEquals("providers.openai.api_key", missing.field)
        val timeout = assertThrows<FinopsException.InvalidArgument> {
            Finops(providers = ProvidersFfi(openai = ProviderConfigFfi(apiKey = ApiKeyFfi("k"), totalTimeoutSeconds = -1.0)))
        }
        assertEquals("providers.openai.total_timeout_seconds", timeout.field)
        assertTrue(!ProviderConfigFfi(apiKey = ApiKeyFfi("sk-secret-key")).toString().contains("sk-secret"))
    }

    @Test
    fun eventsAreAFlow(): Unit = runBlocking {
        val events = Finops(provider = KotlinProvider()).events(request("Is our working capital getting tighter?")).toList()
        assertEquals("queued", events.first().kind)
        assertEquals("completed", events.last().kind)
        assertTrue(events.any { it.kind == "phase_started" && it.phase == PhaseFfi.RESEARCHER })
        // Taking the first event cancels the analysis: the flow ends without waiting for it.
        val first = Finops(provider = KotlinProvider()).events(request("liquidity")).first()
        assertEquals("queued", first.kind)
        assertThrows<FinopsException.InvalidArgument> {
            runBlocking { Finops(offline = true).events(request("  ")).toList() }
        }
        Unit
    }

    @Test
    fun twoFirmsCallARealServerEachWithItsOwnKeyAndHeaders(): Unit = runBlocking {
        // A model server on loopback that records each call's key and firm header and refuses the key (401).
        val seen = Collections.synchronizedList(mutableListOf<Pair<String, String>>())
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/v1/chat/completions") { exchange ->
            seen.add(
                (exchange.requestHeaders.getFirst("Authorization") ?: "") to (exchange.requestHeaders.getFirst("X-Firm") ?: ""),
            )
            exchange.requestBody.readBytes()
            val body = """{"error": "wrong key"}""".toByteArray()
            exchange.sendResponseHeaders(401, body.size.toLong())
            exchange.responseBody.use { it.write(body) }
        }
        server.start()
        try {
            val url = "http://127.0.0.1:${server.address.port}/v1"
            fun firm(key: String, name: String) = Finops(
                providers = ProvidersFfi(
                    openrouter = ProviderConfigFfi(apiKey = ApiKeyFfi(key), baseUrl = url, headers = mapOf("X-Firm" to name), maxRetries = 0u),
                ),
            )
            val a = firm("sk-firm-a-0001", "a").analyze(request("Analyse la rentabilité").copy(tenant = "firm-a"))
            val b = firm("sk-firm-b-0002", "b").analyze(request("Is our debt too high?").copy(tenant = "firm-b"))
            assertTrue(a.degraded && b.degraded, "the server refused both keys: the offline analyst answered")
            assertEquals(setOf("a", "b"), seen.map { it.second }.toSet())
            for ((auth, name) in seen) {
                assertEquals(if (name == "a") "Bearer sk-firm-a-0001" else "Bearer sk-firm-b-0002", auth)
            }
        } finally {
            server.stop(0)
        }
    }
}
