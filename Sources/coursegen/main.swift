import ArgumentParser
import ServiceLifecycle
import Configuration
import Generation
import Watcher
print("coursegen")
