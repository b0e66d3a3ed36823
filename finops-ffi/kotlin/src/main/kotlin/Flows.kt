package io.finops

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/**
 * The events of an analysis as a cold [Flow]: collecting starts the analysis, the flow completes after the
 * `completed` or `failed` event, and cancelling the collector cancels the analysis in Rust. A bad request fails the
 * collection with its [FinopsException]. Ships beside the generated bindings (it is Kotlin, not generated).
 */
fun Finops.events(request: AnalysisRequestFfi): Flow<AnalysisEvent> = callbackFlow {
    val task = stream(
        request,
        object : EventListener {
            override fun onEvent(event: AnalysisEvent) {
                trySend(event)
                if (event.kind == "completed" || event.kind == "failed") channel.close()
            }
        },
    )
    awaitClose { task.cancel() }
}.buffer(Channel.UNLIMITED)
