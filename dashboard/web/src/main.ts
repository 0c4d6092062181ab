import { createApp } from 'vue'
import App from './App.vue'
import { apiKey, createApi } from './lib/api'
import { createRouter, routerKey } from './lib/router'
import './styles.css'

createApp(App).provide(apiKey, createApi()).provide(routerKey, createRouter()).mount('#app')
