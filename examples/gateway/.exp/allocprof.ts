import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
const session = new Session()
session.connect()
const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))))
await post('HeapProfiler.enable')
setTimeout(async () => {
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true })
  setTimeout(async () => {
    const { profile } = await post('HeapProfiler.stopSampling')
    writeFileSync('/tmp/prof/alloc2.heapprofile', JSON.stringify(profile))
  }, 4000)
}, 2500)
