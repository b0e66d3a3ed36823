// Ledger inputs from Kotlin: every format gives the statements' figures, figures name their accounts, the typed
// builder computes totals, and bad input is a typed error naming the place.

import java.io.File
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import io.finops.AccountAmountFfi
import io.finops.CompanyFieldsFfi
import io.finops.FinopsException
import io.finops.LedgerSourceFfi
import io.finops.PeriodLinesFfi
import io.finops.ReadOptionsFfi
import io.finops.ClientFfi
import io.finops.ScreenFfi
import io.finops.buildStatements
import io.finops.peerBenchmarks
import io.finops.screen
import io.finops.computeMetrics
import io.finops.readStatements

private val DATA = File(System.getProperty("finops.data"))
private val CASH_FLOW = setOf("operating_cash_flow", "capital_expenditures", "dividends_paid")

private fun source(name: String) = File(DATA, name).let { LedgerSourceFfi(name = it.name, content = it.readBytes()) }

private fun values(json: String, withCashFlow: Boolean): Map<String, String?> =
    computeMetrics(json)
        .filter { f -> withCashFlow || !(f.inputs.any { it.line in CASH_FLOW } || (f.reason ?: "").contains("cash flow")) }
        .associate { it.id to it.value }

class LedgersTest {
    private val bistro = File(DATA, "bistro-saint-denis.json").readText()

    @Test
    fun everyFormatGivesTheSameFigures() {
        val noOptions = ReadOptionsFfi()
        assertEquals(values(bistro, true), values(readStatements(listOf(source("bistro-saint-denis.gifi.json")), noOptions), true))
        val named = ReadOptionsFfi(company = CompanyFieldsFfi(name = "Bistro"))
        assertEquals(values(bistro, true), values(readStatements(listOf(source("bistro-saint-denis.quickbooks.json")), named), true))
        val cad = ReadOptionsFfi(company = CompanyFieldsFfi(currency = "CAD"))
        assertEquals(values(bistro, false), values(readStatements(listOf(source("bistro-saint-denis.xero.json")), cad), false))
        val csv = ReadOptionsFfi(chart = "gifi", company = CompanyFieldsFfi(name = "B", currency = "CAD"))
        assertEquals(values(bistro, false), values(readStatements(listOf(source("bistro-saint-denis.gifi.csv")), csv), false))
        val fecs = File(DATA, "fec").listFiles()!!.sorted().map { LedgerSourceFfi(name = it.name, content = it.readBytes()) }
        val fec = readStatements(fecs, named)
        assertTrue(fec.contains("\"currency\":\"EUR\""), fec.take(200))
        assertEquals(values(bistro, false), values(fec, false))
    }

    @Test
    fun figuresNameTheirAccounts() {
        val json = readStatements(listOf(source("bistro-saint-denis.gifi.json")), ReadOptionsFfi())
        val margin = computeMetrics(json).first { it.id == "gross_margin@FY2023" }
        assertEquals("8000", margin.inputs.first { it.line == "revenue" }.accounts.first().account)
        assertTrue(computeMetrics(bistro).all { f -> f.inputs.all { it.accounts.isEmpty() } })
    }

    @Test
    fun cashFlowIsDerivedOnlyWhenAsked() {
        val tb = File(DATA, "bistro-saint-denis.gifi.json").readText()
            .replace(Regex(",\\s*\"cash_flow\": \\{[^}]*\\}"), "")
        val source = listOf(LedgerSourceFfi(content = tb.toByteArray()))
        val plain = computeMetrics(readStatements(source, ReadOptionsFfi())).first { it.id == "free_cash_flow@FY2023" }
        assertEquals(null, plain.value)
        val derived = computeMetrics(readStatements(source, ReadOptionsFfi(deriveCashFlow = true))).first { it.id == "free_cash_flow@FY2023" }
        assertTrue(derived.value != null)
        assertTrue(derived.inputs.flatMap { it.accounts }.all { it.account.startsWith("indirect:") })
    }

    @Test
    fun theBuilderComputesTotals() {
        val lines = mapOf(
            "revenue" to "1000", "cost_of_goods_sold" to "400", "operating_expenses" to "300",
            "depreciation_amortization" to "50", "interest_expense" to "10", "income_tax_expense" to "40",
            "cash" to "500", "accounts_receivable" to "200", "other_current_assets" to "0",
            "property_plant_equipment" to "300", "other_non_current_assets" to "0", "accounts_payable" to "100",
            "short_term_debt" to "50", "other_current_liabilities" to "50", "long_term_debt" to "300",
            "other_non_current_liabilities" to "0", "total_equity" to "500",
        )
        val period = PeriodLinesFfi(
            label = "FY2024", start = "2024-01-01", end = "2024-12-31", lines = lines,
            accounts = mapOf("cash" to listOf(AccountAmountFfi("1001", "Caisse", "500"))),
        )
        val json = buildStatements(CompanyFieldsFfi(name = "Atelier", currency = "CAD"), listOf(period))
        assertEquals("3.5", computeMetrics(json).first { it.id == "current_ratio@FY2024" }.value)
        val bad = period.copy(lines = lines + ("cashh" to "1"))
        val e = assertThrows<FinopsException.InvalidStatements> { buildStatements(CompanyFieldsFfi(name = "A", currency = "CAD"), listOf(bad)) }
        assertEquals("periods[0].lines.cashh", e.field)
    }

    @Test
    fun badLedgersNameThePlace() {
        val tb = File(DATA, "bistro-saint-denis.gifi.json").readText().replaceFirst("\"debit\": \"120523.09\"", "\"debit\": \"120523.10\"")
        val e = assertThrows<FinopsException.InvalidStatements> { readStatements(listOf(LedgerSourceFfi(content = tb.toByteArray())), ReadOptionsFfi()) }
        assertTrue(e.field.contains("FY2021") && e.reason.contains("does not balance"), e.field + e.reason)
        assertThrows<FinopsException.InvalidStatements> { readStatements(listOf(LedgerSourceFfi(content = "hello".toByteArray())), ReadOptionsFfi()) }
        assertThrows<FinopsException.InvalidArgument> { readStatements(listOf(source("bistro-saint-denis.json")), ReadOptionsFfi(format = "pdf")) }
        assertThrows<FinopsException.InvalidArgument> { readStatements(listOf(source("bistro-saint-denis.gifi.csv")), ReadOptionsFfi(chart = "{not json")) }
        assertThrows<FinopsException.InvalidArgument> { readStatements(emptyList(), ReadOptionsFfi()) }
    }

    @Test
    fun screeningAndPeerBenchmarks() {
        // Fourteen clients: more cash and as much more equity each, half restaurants, half accountants.
        val clients = (0 until 14).map { i ->
            var doc = bistro
                .replace("\"naics\": \"722511\"", "\"naics\": \"" + (if (i % 2 == 0) "722511" else "541211") + "\"")
                .replace("\"sector\": \"restaurants\"", "\"sector\": \"" + (if (i % 2 == 0) "restaurants" else "accounting") + "\"")
            for (key in listOf("cash", "total_current_assets", "total_assets", "total_equity")) {
                doc = Regex("\"$key\": \"([0-9.]+)\"").replace(doc) { m ->
                    "\"$key\": \"" + java.math.BigDecimal(m.groupValues[1]).add(java.math.BigDecimal(10000 * i)).toPlainString() + "\""
                }
            }
            ClientFfi(id = "c$i", statementsJson = doc)
        }
        val found = screen(clients, ScreenFfi(metric = "current_ratio", op = ">", threshold = "1.9"))
        val expected = clients.filter { c ->
            java.math.BigDecimal(computeMetrics(c.statementsJson).first { it.id == "current_ratio@FY2023" }.value!!) > java.math.BigDecimal("1.9")
        }.map { it.id }
        assertEquals(expected, found.map { it.client })
        assertTrue(expected.isNotEmpty() && expected.size < 14)
        val peers = peerBenchmarks("c12", clients, listOf("current_ratio"))
        assertEquals(6uL, peers.benchmarks.first().cohortSize)
        assertEquals(4.toUByte(), peers.benchmarks.first().quartile)
        assertTrue(peerBenchmarks("c0", clients.take(9), listOf("current_ratio")).benchmarks.isEmpty())
        assertThrows<FinopsException.InvalidArgument> { screen(clients, ScreenFfi(metric = "current_ratio", op = "~", threshold = "1")) }
        assertThrows<FinopsException.InvalidArgument> { screen(clients, ScreenFfi(metric = "current_ratio", op = "<", threshold = "one")) }
        val bad = assertThrows<FinopsException.InvalidStatements> { screen(listOf(ClientFfi("bad", "{}")), ScreenFfi(metric = "current_ratio", op = "<", threshold = "1")) }
        assertTrue(bad.field.startsWith("clients[bad]."), bad.field)
    }
}
