// The mock upstream of `pnpm bench router`, in its own process: prints nothing, sends its URL to the parent.
import { createMockUpstream } from '@llmpool/testing'

const upstream = await createMockUpstream({ recordBodies: false, maxRecordedRequests: 0 })
process.send?.(upstream.url)
process.on('disconnect', () => void upstream.close().then(() => process.exit(0)))
