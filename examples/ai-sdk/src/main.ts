// `pnpm example:ai-sdk`: an llmpool pool as one AI SDK model. Starts the mock upstream of @llmpool/testing in this
// process, loads configs/llms with its `openai` and `anthropic` providers pointed at it, and runs generateText,
// streamText and a tool call through the pool wrapper `fast_pool_wrapper`, then one call by registry id.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { anthropicProvider, openAIProvider, type ProviderDefinition } from '@llmpool/router'
import { createMockUpstream } from '@llmpool/testing'
import { createLLMPool } from '@llmpool/wrappers'
import { createProviderRegistry, generateText, stepCountIs, streamText, tool } from 'ai'
import { z } from 'zod'

const { values } = parseArgs({ options: { config: { type: 'string' } } })
const root = path.resolve(import.meta.dirname, '../../..')
// --config is relative to where you ran the command; the default is the repository's configs/llms.
const configDir = values.config
  ? path.resolve(process.env.INIT_CWD ?? process.cwd(), values.config)
  : path.join(root, 'configs/llms')

const upstream = await createMockUpstream()
// The configuration names the real providers; point them at the mock upstream (drop `providers` to go live).
const toMock = (provider: ProviderDefinition): ProviderDefinition => ({
  createModel: (settings) =>
    provider.createModel({ ...settings, baseURL: `${upstream.url}/v1`, apiKey: 'example-key' }),
})
const pool = await createLLMPool({
  configDir,
  watch: false,
  // configs/llms turns request logging on; this example prints its own lines instead (remove to see the JSON logs).
  logger: false,
  router: {
    healthChecks: false,
    providers: { openai: toMock(openAIProvider()), anthropic: toMock(anthropicProvider()) },
  },
})
console.log(`mock upstream at ${upstream.url}; wrappers: ${pool.names().wrappers.join(', ')}\n`)

try {
  const model = pool.wrapper('fast_pool_wrapper')

  // 1. generateText
  const generated = await generateText({ model, prompt: 'Say hello in one sentence.' })
  console.log(`generateText  → ${generated.text}`)
  console.log(`                answered by ${String(generated.providerMetadata?.llmpool?.instance)}\n`)

  // 2. streamText
  process.stdout.write('streamText    → ')
  const streamed = streamText({ model, prompt: 'Stream a short greeting.' })
  let deltas = 0
  for await (const delta of streamed.textStream) {
    process.stdout.write(delta)
    deltas++
  }
  console.log(`\n                ${deltas} deltas\n`)

  // 3. A tool call: the mock upstream calls the tool when asked to ("call tool NAME {json}"), then answers.
  const weather = tool({
    description: 'The current weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      console.log(`tool call     → weather(${JSON.stringify({ city })})`)
      return { city, sky: 'sunny', celsius: 21 }
    },
  })
  const withTools = await generateText({
    model,
    tools: { weather },
    stopWhen: stepCountIs(3),
    prompt: 'call tool weather {"city":"Paris"}',
  })
  console.log(`tool result   → ${JSON.stringify(withTools.steps[0]?.toolResults[0]?.output)}`)
  console.log(`final answer  → ${withTools.text} (${withTools.steps.length} steps)\n`)

  // 4. The same pools through the AI SDK's provider registry.
  const registry = createProviderRegistry({ llmpool: pool.provider })
  const viaRegistry = await generateText({
    model: registry.languageModel('llmpool:thinking_pool'),
    prompt: 'Think briefly.',
  })
  console.log(`llmpool:thinking_pool → ${viaRegistry.text}`)
} finally {
  await pool.dispose()
  await upstream.close()
}
