import { hangingModelTest } from './document-hang'

hangingModelTest('library')
