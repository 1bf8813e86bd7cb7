import IdzipCore
