import { rpmAtUpstreamTest } from './rpm-at-upstream'

rpmAtUpstreamTest('gateway')
