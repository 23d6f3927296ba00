export { createMockUpstream, type MockUpstream, type MockUpstreamOptions } from './mock-upstream'
export { MOCK_EMBEDDING_DIMENSIONS, mockEmbedding } from './embeddings'
export type { MockApi, MockReply, MockReplySpec, MockToolCall, MockUpstreamRequest } from './replies'
export type { MockUpstreamStats, RecordedRequest, RequestFilter, RequestOutcome, RequestStats } from './recorder'
export type { Fault, FaultKind, FaultRule, Faults, FaultSequence, FaultSpec } from './faults'
export { type FaultsIssue, InvalidFaultsError } from './invalid-faults-error'
export { type FaultsFile, loadFaultsFile, parseFaultsFile } from './faults-file'
export { runMockUpstream, type RunMockUpstreamOptions } from './run-mock-upstream'
export { MockLanguageModel, type MockBehaviour, type MockLanguageModelOptions } from './mock-language-model'
export {
  type MockApiCallErrorOptions,
  mockApiCallError,
  mockGenerateResult,
  type MockResultOptions,
  type MockResultToolCall,
  type MockStreamOptions,
  mockStreamResult,
  mockUsage,
  simulateStream,
  type SimulateStreamOptions,
} from './mock-results'
export { FakeClock, flushMicrotasks } from './fake-clock'
export { seededRandom, type Random } from './seeded-random'
export { freePort, type FreePortOptions } from './free-port'
export { type RedisProgram, requireProgram } from './require-program'
export { type RedisServer, startRedisServer } from './redis-server'
export { type RedisClusterProcesses, startRedisCluster } from './redis-cluster'
