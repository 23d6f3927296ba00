export { dashboardHandler, type DashboardHandler, type DashboardOptions } from './handler'
export { DashboardFeed, type DashboardFeedOptions, type FeedWriter } from './feed'
export { type Authorize, bearerToken } from './auth'
export type {
  ConfigurationView,
  FeedEvent,
  Fill,
  HelloMessage,
  HistoryRecord,
  InstanceView,
  InstanceWindow,
  LiveState,
  PoolView,
  SeriesPoint,
  TickMessage,
  TreeNode,
} from './types'
