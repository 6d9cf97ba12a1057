/* API functions the lag test FMU does not support: each returns Error (3).
 * Declared without prototypes on purpose (this file does not include the FMI
 * headers); they exist so that loaders that resolve every symbol can load the library. */
#if FMI_VERSION == 3
#define STUBS X(fmi3GetFloat32) X(fmi3GetInt8) X(fmi3GetUInt8) X(fmi3GetInt16) X(fmi3GetUInt16) \
  X(fmi3GetInt32) X(fmi3GetUInt32) X(fmi3GetInt64) X(fmi3GetUInt64) X(fmi3GetBoolean) X(fmi3GetString) \
  X(fmi3GetBinary) X(fmi3GetClock) X(fmi3SetFloat32) X(fmi3SetInt8) X(fmi3SetUInt8) X(fmi3SetInt16) \
  X(fmi3SetUInt16) X(fmi3SetInt32) X(fmi3SetUInt32) X(fmi3SetInt64) X(fmi3SetUInt64) X(fmi3SetBoolean) \
  X(fmi3SetString) X(fmi3SetBinary) X(fmi3SetClock) X(fmi3GetNumberOfVariableDependencies) \
  X(fmi3GetVariableDependencies) X(fmi3GetDirectionalDerivative) X(fmi3GetAdjointDerivative) \
  X(fmi3EnterConfigurationMode) X(fmi3ExitConfigurationMode) X(fmi3GetIntervalDecimal) \
  X(fmi3GetIntervalFraction) X(fmi3GetShiftDecimal) X(fmi3GetShiftFraction) X(fmi3SetIntervalDecimal) \
  X(fmi3SetIntervalFraction) X(fmi3SetShiftDecimal) X(fmi3SetShiftFraction) X(fmi3EvaluateDiscreteStates) \
  X(fmi3GetOutputDerivatives) X(fmi3InstantiateScheduledExecution) X(fmi3ActivateModelPartition)
#else
#define STUBS X(fmi2GetInteger) X(fmi2GetBoolean) X(fmi2GetString) X(fmi2SetInteger) X(fmi2SetBoolean) \
  X(fmi2SetString) X(fmi2GetDirectionalDerivative) X(fmi2SetRealInputDerivatives) \
  X(fmi2GetRealOutputDerivatives) X(fmi2CancelStep) X(fmi2GetStatus) X(fmi2GetRealStatus) \
  X(fmi2GetIntegerStatus) X(fmi2GetBooleanStatus) X(fmi2GetStringStatus)
#endif
#define X(name) int name() { return 3; }
STUBS
