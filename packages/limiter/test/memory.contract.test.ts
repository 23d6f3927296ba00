import { memoryBackend } from '../src/index'
import { describeLimiterContract } from './contract'
import { FakeClock } from '@llmpool/testing'

let clock = new FakeClock()

describeLimiterContract('memory', {
  backend: async () => {
    clock = new FakeClock()
    return memoryBackend({ clock })
  },
  advance: (ms) => clock.advance(ms),
  now: () => clock.now(),
  unit: 1000,
})
