// The vault, the JWT verifier and the audit check through the real FFI boundary, from Kotlin: analyses stored
// encrypted in an app's directory, review and sign-off, the audit trail, key rotation, erasure, and bad input.

import java.io.File
import java.nio.file.Files
import java.util.Base64
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import io.finops.AnalysisRequestFfi
import io.finops.AnalysisResult
import io.finops.Finops
import io.finops.FinopsException
import io.finops.JwtVerifier
import io.finops.PrincipalFfi
import io.finops.ReviewActionFfi
import io.finops.RoleFfi
import io.finops.openVault
import io.finops.verifyAudit

private val STATEMENTS: String = File(System.getProperty("finops.data"), "bistro-saint-denis.json").readText()
private const val SECRET = "a-shared-secret-of-at-least-32-bytes-a-shared-secret-of-at-least"

/** An HS256 token signed with javax.crypto (the SDK verifies it with the jsonwebtoken crate). */
private fun token(claims: String, secret: String = SECRET): String {
    val b64 = Base64.getUrlEncoder().withoutPadding()
    val now = System.currentTimeMillis() / 1000
    val body = """{"sub":"u1","iss":"https://idp.example","aud":"finops","exp":${now + 600},$claims}"""
    val unsigned = b64.encodeToString("""{"alg":"HS256","typ":"JWT"}""".toByteArray()) + "." + b64.encodeToString(body.toByteArray())
    val mac = Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(secret.toByteArray(), "HmacSHA256")) }
    return unsigned + "." + b64.encodeToString(mac.doFinal(unsigned.toByteArray()))
}

class VaultTest {
    private fun dir(): String = Files.createTempDirectory("finops-vault").toString()

    private suspend fun analysis(tenant: String, client: String): AnalysisResult =
        Finops(offline = true).analyze(
            AnalysisRequestFfi(statementsJson = STATEMENTS, question = "Analyse la rentabilité", principal = PrincipalFfi(tenant, RoleFfi.CPA), client = client),
        )

    @Test
    fun analysesAreStoredEncryptedAndReadAsThePrincipalMay(): Unit = runBlocking {
        val path = dir()
        val vault = openVault(path, false)
        val cpa = PrincipalFfi("firm-k", RoleFfi.CPA)
        val a = analysis("firm-k", "bistro")
        val b = analysis("firm-k", "garage")
        vault.save(cpa, a)
        vault.save(cpa, b)
        assertEquals(a.report, vault.get(cpa, a.id).report)
        assertEquals(listOf(a.id, b.id), vault.list(cpa).map { it.id })
        assertEquals(listOf(a.id), vault.list(PrincipalFfi("firm-k", RoleFfi.CLIENT, "bistro")).map { it.id })
        assertThrows<FinopsException.AccessDenied> { runBlocking { vault.get(PrincipalFfi("firm-k", RoleFfi.CLIENT, "garage"), a.id) } }
        val missing = assertThrows<FinopsException.InvalidArgument> { runBlocking { vault.get(PrincipalFfi("firm-z", RoleFfi.CPA), a.id) } }
        assertEquals("id", missing.field)
        val raw = File(path).listFiles()!!.filter { it.name.startsWith("finops.db") }.joinToString("") { String(it.readBytes(), Charsets.ISO_8859_1) }
        assertFalse(raw.contains("Bistro Saint-Denis"))
        assertFalse(raw.contains("Analyse la rentabilité"))
        assertEquals(b.report, openVault(path, false).get(cpa, b.id).report)
    }

    @Test
    fun aClientWaitsForACpasSignOffAndTheTrailIsVerified(): Unit = runBlocking {
        val vault = openVault(dir(), true)
        val client = PrincipalFfi("firm-s", RoleFfi.CLIENT, "bistro")
        val cpa = PrincipalFfi("firm-s", RoleFfi.CPA)
        val admin = PrincipalFfi("firm-s", RoleFfi.ADMIN)
        val a = analysis("firm-s", "bistro")
        vault.save(client, a)
        assertEquals("draft", vault.review(cpa, a.id).status)
        assertThrows<FinopsException.AccessDenied> { runBlocking { vault.get(client, a.id) } }
        assertThrows<FinopsException.AccessDenied> { runBlocking { vault.act(client, a.id, ReviewActionFfi.SIGN_OFF, null) } }
        vault.act(cpa, a.id, ReviewActionFfi.ANNOTATE, "Revenue agreed to the ledger.")
        val signed = vault.act(cpa, a.id, ReviewActionFfi.SIGN_OFF, null)
        assertEquals("signed_off", signed.status)
        assertEquals(RoleFfi.CPA, signed.signedOffBy!!.role)
        assertEquals(1, signed.notes.size)
        assertEquals(a.id, vault.get(client, a.id).id)
        val bad = assertThrows<FinopsException.InvalidArgument> { runBlocking { vault.act(cpa, a.id, ReviewActionFfi.ANNOTATE, null) } }
        assertEquals("note", bad.field)

        assertThrows<FinopsException.AccessDenied> { runBlocking { vault.exportAudit(cpa) } }
        val trail = vault.exportAudit(admin)
        assertEquals(listOf("analysis", "access_denied", "access_denied", "review", "review", "access_denied"), verifyAudit(trail).map { it.action })
        val lines = trail.lines().filter { it.isNotBlank() }
        assertThrows<FinopsException.Integrity> { verifyAudit((listOf(lines[1], lines[0]) + lines.drop(2)).joinToString("\n")) }
        assertThrows<FinopsException.Integrity> { verifyAudit(lines.drop(1).joinToString("\n")) }
    }

    @Test
    fun keysRotateAndAnErasedClientIsGone(): Unit = runBlocking {
        val vault = openVault(dir(), false)
        val cpa = PrincipalFfi("firm-e", RoleFfi.CPA)
        val admin = PrincipalFfi("firm-e", RoleFfi.ADMIN)
        val a = analysis("firm-e", "bistro")
        vault.save(cpa, a)
        assertTrue(vault.rotateKey(admin).isNotEmpty())
        assertEquals(a.report, vault.get(cpa, a.id).report)
        assertEquals(1uL, vault.reencrypt(admin))
        assertThrows<FinopsException.AccessDenied> { runBlocking { vault.eraseClient(cpa, "bistro") } }
        assertEquals(1uL, vault.eraseClient(admin, "bistro"))
        assertEquals(emptyList<String>(), vault.list(cpa).map { it.id })
    }

    @Test
    fun tokensBecomePrincipalsAndBadInputIsTyped(): Unit = runBlocking {
        val jwt = JwtVerifier("HS256", SECRET.toByteArray(), "https://idp.example", "finops")
        // The token's `sub` is kept for the audit trail.
        assertEquals(PrincipalFfi("firm-j", RoleFfi.CLIENT, "bistro", sub = "u1"), jwt.verify(token(""""tenant":"firm-j","role":"client","client":"bistro"""")))
        val forged = assertThrows<FinopsException.InvalidToken> { jwt.verify(token(""""tenant":"t","role":"cpa"""", "another-secret-of-at-least-32-bytes-another-secret")) }
        assertEquals("signature", forged.kind)
        assertEquals("missing_claim", assertThrows<FinopsException.InvalidToken> { jwt.verify(token(""""role":"cpa"""")) }.kind)
        assertEquals("malformed", assertThrows<FinopsException.InvalidToken> { jwt.verify("not.a.token") }.kind)
        assertEquals("jwt_algorithm", assertThrows<FinopsException.InvalidArgument> { JwtVerifier("none", SECRET.toByteArray(), "i", "a") }.field)
        assertEquals("jwt_secret", assertThrows<FinopsException.InvalidArgument> { JwtVerifier("HS256", "short".toByteArray(), "i", "a") }.field)
        assertEquals("store", assertThrows<FinopsException.InvalidArgument> { runBlocking { openVault("", false) } }.field)
        val vault = openVault(dir(), false)
        assertThrows<FinopsException.InvalidArgument> { runBlocking { vault.list(PrincipalFfi("f/x", RoleFfi.CPA)) } }
        val a = analysis("f", "bistro")
        val broken = assertThrows<FinopsException.InvalidArgument> { runBlocking { vault.save(PrincipalFfi("f", RoleFfi.CPA), a.copy(json = "{}")) } }
        assertEquals("analysis.json", broken.field)
    }

    @Test
    fun aFinopsWithAVaultSavesEveryAnalysis(): Unit = runBlocking {
        val vault = openVault(dir(), false)
        val finops = Finops(offline = true, vault = vault)
        val client = PrincipalFfi("firm-auto", RoleFfi.CLIENT, "bistro")
        val asked = finops.analyze(AnalysisRequestFfi(statementsJson = STATEMENTS, question = "Analyse la rentabilité", principal = client))
        assertEquals(asked.report, vault.get(client, asked.id).report)
        val plain = finops.analyze(AnalysisRequestFfi(statementsJson = STATEMENTS, question = "Liquidité ?", tenant = "firm-auto", client = "garage"))
        assertEquals(setOf(asked.id, plain.id), vault.list(PrincipalFfi("firm-auto", RoleFfi.CPA)).map { it.id }.toSet())
    }
}
