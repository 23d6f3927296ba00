import { hangingModelTest } from './document-hang'

hangingModelTest('gateway')
