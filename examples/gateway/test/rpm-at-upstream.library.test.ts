import { rpmAtUpstreamTest } from './rpm-at-upstream'

rpmAtUpstreamTest('library')
