// The Kotlin samples of the mobile guide (docs/guide/mobile.md includes the regions between ANCHOR markers): they
// compile and run here, against the real library, so none rots.

import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import io.finops.AnalysisRequestFfi
import io.finops.CacheOptionsFfi
import io.finops.Finops
import io.finops.FinopsException
import io.finops.LedgerSourceFfi
import io.finops.PrincipalFfi
import io.finops.ReadOptionsFfi
import io.finops.ReviewActionFfi
import io.finops.RoleFfi
import io.finops.computeMetrics
import io.finops.events
import io.finops.openVault
import io.finops.readStatements

private val DATA = File(System.getProperty("finops.data"))

class GuideTest {
    @Test
    fun figures() {
        // ANCHOR: figures
        val statementsJson = File(DATA, "bistro-saint-denis.json").readText()
        val figures = computeMetrics(statementsJson)
        val margin = figures.first { it.id == "gross_margin@FY2023" }
        println("${margin.id} = ${margin.value} (${margin.formula}) from ${margin.inputs.map { it.line }}")
        // ANCHOR_END: figures
        assertTrue(margin.value!!.startsWith("0.6896"))
    }

    @Test
    fun books() {
        // ANCHOR: books
        val file = File(DATA, "bistro-saint-denis.gifi.json")
        val books = readStatements(listOf(LedgerSourceFfi(name = file.name, content = file.readBytes())), ReadOptionsFfi())
        val figures = computeMetrics(books)   // canonical statements JSON, each line with its accounts
        // ANCHOR_END: books
        assertTrue(figures.any { f -> f.inputs.any { !it.accounts.isNullOrEmpty() } })
    }

    @Test
    fun analysis(): Unit = runBlocking {
        val appFiles = Files.createTempDirectory("finops-guide").toString()
        // ANCHOR: analysis
        val finops = Finops(offline = true, cache = CacheOptionsFfi(dataDir = "$appFiles/cache"))
        val request = AnalysisRequestFfi(
            statementsJson = File(DATA, "bistro-saint-denis.json").readText(),
            question = "Is our working capital getting tighter?",
        )
        val analysis = finops.analyze(request)            // a suspend function: cancel the coroutine to cancel it
        println("${analysis.reportSource}: ${analysis.report}")
        val again = finops.analyze(request)
        println("second time: ${again.cache}, cost ${again.totalCostUsd}")
        // ANCHOR_END: analysis
        assertTrue(analysis.grounded)
        assertEquals("exact", again.cache)
    }

    @Test
    fun streaming(): Unit = runBlocking {
        val statementsJson = File(DATA, "bistro-saint-denis.json").readText()
        // ANCHOR: streaming
        val finops = Finops(offline = true)
        val kinds = finops.events(AnalysisRequestFfi(statementsJson = statementsJson, question = "Bilan de santé du bistro"))
            .toList()                                     // a Flow: collect it in a ViewModel's scope
            .map { it.kind }
        // ANCHOR_END: streaming
        assertEquals("completed", kinds.last())
    }

    @Test
    fun errors() {
        // ANCHOR: errors
        try {
            computeMetrics("{not json")
        } catch (e: FinopsException.InvalidStatements) {
            println("refused at ${e.field}: ${e.reason}")
        }
        // ANCHOR_END: errors
        assertThrowsInvalid { computeMetrics("{not json") }
    }

    private fun assertThrowsInvalid(block: () -> Unit) {
        try {
            block()
        } catch (e: FinopsException.InvalidStatements) {
            return
        }
        throw AssertionError("no InvalidStatements")
    }

    @Test
    fun workingPapers(): Unit = runBlocking {
        val appFiles = Files.createTempDirectory("finops-guide").toString()
        val statementsJson = File(DATA, "bistro-saint-denis.json").readText()
        // ANCHOR: vault
        val vault = openVault("$appFiles/finops", true)   // encrypted SQLite and its key, in the app's files
        val cpa = PrincipalFfi("cabinet-tremblay", RoleFfi.CPA)
        val client = PrincipalFfi("cabinet-tremblay", RoleFfi.CLIENT, "bistro")
        val analysis = Finops(offline = true, vault = vault).analyze(
            AnalysisRequestFfi(statementsJson = statementsJson, question = "Analyse la rentabilité", principal = cpa, client = "bistro"),
        )
        vault.act(cpa, analysis.id, ReviewActionFfi.SIGN_OFF, null)
        val seen = vault.get(client, analysis.id)        // a Client reads it once a CPA signed it off
        // ANCHOR_END: vault
        assertEquals(analysis.id, seen.id)
    }
}
