// Bad numbers and panics across the FFI boundary: typed errors the host already handles, never uniffi's generic
// InternalException or a crashed app.

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import io.finops.Finops
import io.finops.FinopsException
import io.finops.ProviderConfigFfi
import io.finops.ApiKeyFfi
import io.finops.ProvidersFfi
import io.finops.panicForTests
import io.finops.panicForTestsAsync

class HostileTest {
    @Test
    fun aPanicInsideFinopsIsAnInternalError() {
        val sync = assertThrows<FinopsException.Internal> { panicForTests() }
        assertTrue(sync.detail.contains("panicked"), sync.detail)
        assertThrows<FinopsException.Internal> { runBlocking { panicForTestsAsync() } }
    }

    @Test
    fun absurdDurationsInAProviderAreRefusedByName() {
        for (bad in listOf(-1.0, Double.NaN, Double.POSITIVE_INFINITY, 1e300)) {
            val e = assertThrows<FinopsException.InvalidArgument> {
                Finops(
                    providers = ProvidersFfi(
                        openrouter = ProviderConfigFfi(apiKey = ApiKeyFfi("sk-or-0123456789"), totalTimeoutSeconds = bad),
                    ),
                )
            }
            assertEquals("providers.openrouter.total_timeout_seconds", e.field, e.toString())
        }
    }
}
