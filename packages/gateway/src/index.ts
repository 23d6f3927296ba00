export { type Gateway, type GatewayOptions, startGateway } from './server'
export { HttpError, toHttpError } from './http-error'
export { type ChatCompletionRequest, parseBody, toCallOptions, toPrompt } from './convert-request'
export { ChunkWriter, toChatCompletion } from './convert-response'
export { EMBEDDINGS_PATHS, embeddingsEndpoint, type EmbeddingsEndpointOptions, parseEmbeddingsBody } from './embeddings'
export {
  PASS_THROUGH_KEY,
  type PassThroughAnswer,
  type PassThroughRequest,
  passThroughProvider,
  rewriteModel,
  topLevelModel,
  upstreamBody,
} from './pass-through'
export { type UpstreamAnswer, Upstreams } from './upstream'
export { type ExchangeHandler, Http1Pool, type Http1PoolOptions, UpstreamSocketError } from './http1'
export { prometheusText } from './prometheus'
export { type AccessLogger, type AccessLogOptions, type AccessRecord, countFallbacks } from './access-log'
export {
  GATEWAY_EXIT_CODES,
  type GatewayCommand,
  GatewayUsageError,
  gatewayUsage,
  type LogFormat,
  type LogLevel,
  parseGatewayArgs,
} from './cli'
export { gatewayLogger, runGateway, type RunGatewayIo } from './run'
